"""Simplified Chinese: the language follows the browser and can be switched; the catalogue is complete, compiled
and current; the portal's templates carry no unmarked English."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("home", ["仪表板", "已用存储", "本月输出分钟数", "正在运行"]),
        ("media_library:presenters", ["出镜人", "上传出镜人", "搜索标题或描述", "就绪"]),
        ("media_library:audio", ["音频", "用文字生成音频", "时长"]),
        ("media_library:presenter_upload", ["把文件拖到这里", "标签"]),
        ("media_library:audio_tts", ["语速（每分钟词数）", "普通话"]),
        ("job_list", ["任务历史", "导出 CSV", "全部状态"]),
        ("job_create", ["新建批次", "选择音频", "选择出镜人", "预计总输出时长", "生成视频"]),
        ("job_detail", ["批次", "正在生成口型", "约剩 2 分钟", "全部下载（ZIP）", "重试失败项"]),
        ("members", ["成员", "各角色的权限", "部门管理员", "启动、取消和重试批次"]),
    ],
)
def test_pages_follow_the_browser_language(name, expected, users, login, batch):
    args = {"job_detail": [batch.pk], "members": ["hr"]}.get(name, [])
    page = login(users["dept_admin"]).get(reverse(name, args=args), **ZH).content.decode()
    assert '<html lang="zh-hans">' in page
    for text in expected:
        assert text in page, f"{name}: {text!r} missing"
    # the navigation and the page's own chrome are Chinese too, not just the body
    assert "仪表板" in page and "退出登录" in page and "Log out" not in page


def test_login_and_error_pages_in_chinese(client, users, login):
    assert "用户名" in client.get(reverse("login"), **ZH).content.decode()
    assert "返回仪表板" in login(users["manager"]).get("/no/such/page/", **ZH).content.decode()


def test_english_is_the_default_and_the_switch_wins_over_the_browser(users, login):
    client = login(users["manager"])
    assert "Dashboard" in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "仪表板" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Dashboard" in client.get(reverse("home"), **ZH).content.decode()


def test_python_messages_are_translated_too(users, login, batch):
    data = login(users["manager"]).get(reverse("job_status", args=[batch.pk]), **ZH).json()
    assert data["status_label"] == "运行中" and data["counts_label"] == "已完成 1 / 3 个视频，1 个失败"
    refused = login(users["manager"]).post(reverse("job_create"), {"backend": "warp"}, **ZH).content.decode()
    assert HAN.search(visible_text(refused))


def test_catalogue_is_complete():
    catalogue = PO.read_text(encoding="utf-8")
    assert "#, fuzzy" not in catalogue
    entries = re.findall(r'\nmsgid "(.*)"\n(?:msgid_plural ".*"\n)?msgstr(?:\[0\])? "(.*)"\n', catalogue)
    assert len(entries) > 300
    untranslated = [msgid for msgid, msgstr in entries if msgid and not msgstr and '"' not in msgid]
    assert not untranslated, f"untranslated: {untranslated[:10]}"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext is installed by `make setup`")
def test_compiled_catalogue_matches_the_po(tmp_path):
    """The .mo in the tree is what compilemessages makes of the .po now (format strings checked)."""
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(PO)], check=True)
    with fresh.open("rb") as a, MO.open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, (
            "locale/zh_Hans/LC_MESSAGES/django.mo is stale: run `make messages`"
        )


PORTAL_TEMPLATES = ["base.html", "403.html", "404.html", "500.html", "503.html", "includes", "accounts/home.html",
                    "accounts/members.html", "registration", "media_library", "jobs"]
OTHER_TEAMS = {"jobs/webhooks.html"}
#: words that are the same in every language (units, formats, symbols)
ALLOWED = {"s", "ms", "fps", "ch", "Hz", "LUFS", "ZIP", "CSV", "MP4", "sync", "API"}


def test_portal_templates_have_no_unmarked_text():
    templates = ROOT / "templates"
    files = []
    for entry in PORTAL_TEMPLATES:
        path = templates / entry
        files += sorted(path.rglob("*.html")) if path.is_dir() else [path]
    problems = []
    for path in files:
        if str(path.relative_to(templates)) in OTHER_TEAMS:
            continue
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
        source = re.sub(r"{%\s*blocktranslate.*?endblocktranslate\s*%}", " ", source, flags=re.S)
        source = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", " ", source, flags=re.S)
        text = visible_text(source)
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z']+", text) if w not in ALLOWED]
        if words:
            problems.append(f"{path.relative_to(templates)}: {' '.join(words[:8])}")
    assert not problems, "unmarked text in templates:\n" + "\n".join(problems)


def test_item_errors_get_a_headline_in_the_readers_language():
    """The worker writes errors in English; a Chinese page leads with a translated sentence per error code."""
    from django.utils import translation

    from jobs.summary import error_label

    detail = "No face was found in any frame of anna.mp4."
    with translation.override("en"):
        assert error_label(detail, "no_face") == detail
    with translation.override("zh-hans"):
        assert error_label(detail, "no_face") == f"在出镜人视频中未找到人脸。 ({detail})"
        assert error_label(detail, "some_new_code") == detail
        assert error_label("", "no_face") == ""
