"""The worker-side bridge to the engine: one audio analysis per batch, even with parallel workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from jobs import engine, services
from jobs.models import JobItem


@pytest.mark.django_db
def test_parallel_items_of_a_batch_analyse_the_audio_once(users, departments, media_set, clean_queues):
    batch = services.create_batch(
        user=users["manager"],
        department=departments["hr"],
        audio=media_set["audio"],
        presenters=media_set["presenters"],
    )
    items = list(JobItem.objects.filter(batch=batch).select_related("batch__audio"))
    from synthesis import audio as audio_module

    audio_module._LRU.clear()  # as if each item ran in its own fresh worker process
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(engine.audio_analysis_for, items))
    computed = [was_computed for _, was_computed in results]
    assert computed.count(True) == 1, computed
    first = results[0][0]
    assert all(analysis.audio_hash == first.audio_hash for analysis, _ in results)
