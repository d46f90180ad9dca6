/* Presenter Studio: the little JavaScript the pages need. Plain ES2017, no build, no external code.
 * Every page works without it (forms post normally); with it, uploads show per-file progress, the new-batch
 * form shows its estimate and the job page updates live. Texts come translated from the page (#ui-text). */
(function () {
  "use strict";

  const TEXT = (() => {
    const node = document.getElementById("ui-text");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  })();
  const t = (key, fallback) => TEXT[key] || fallback || key;
  const fmt = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : ""));

  function csrfToken(form) {
    const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function humanSeconds(total) {
    if (total < 10) return fmt(t("seconds", "{s} s"), {s: Math.max(0, total).toFixed(1)});
    total = Math.max(0, Math.round(total));
    if (total < 60) return fmt(t("seconds", "{s} s"), {s: total});
    const m = Math.floor(total / 60), s = String(total % 60).padStart(2, "0");
    if (m < 60) return fmt(t("minutes", "{m}:{s} min"), {m: m, s: s});
    const h = Math.floor(m / 60), mm = String(m % 60).padStart(2, "0");
    return fmt(t("hours", "{h}:{m}:{s} h"), {h: h, m: mm, s: s});
  }

  /* ---- auto-submitting selects (language, department) ---------------------------------------------------- */
  document.querySelectorAll("select[data-autosubmit], input[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("form[data-switcher]").forEach((form) => {
    const select = form.querySelector("select");
    const go = () => { form.action = select.value; form.submit(); };
    select.addEventListener("change", go);
    form.addEventListener("submit", (event) => { event.preventDefault(); go(); });
  });

  /* ---- uploads: drag and drop, one XHR per file with its own progress bar ---------------------------------- */
  function setupUploader(form) {
    const input = form.querySelector("input[type=file]");
    const zone = form.querySelector(".dropzone");
    const list = form.querySelector(".upload-list");
    const button = form.querySelector("button[type=submit]");
    const multiple = input.multiple;
    let files = [];

    function render() {
      list.innerHTML = "";
      files.forEach((entry) => list.appendChild(entry.row));
      zone.querySelector(".count").textContent = files.length
        ? fmt(t("files_chosen", "{n} file(s) chosen"), {n: files.length}) : "";
    }

    function choose(fileList) {
      const chosen = Array.from(fileList || []);
      if (!chosen.length) return;
      files = (multiple ? chosen : chosen.slice(0, 1)).map((file) => {
        const row = document.createElement("li");
        row.innerHTML = '<span class="name"></span><div class="bar"><span></span></div><span class="state muted"></span>';
        row.querySelector(".name").textContent = file.name;
        row.querySelector(".state").textContent = t("ready_to_upload", "Ready");
        return {file: file, row: row, done: false};
      });
      render();
    }

    input.addEventListener("change", () => choose(input.files));
    zone.addEventListener("click", (event) => { if (event.target === zone || event.target.closest(".big")) input.click(); });
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
      event.preventDefault(); zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (event) => {
      event.preventDefault(); zone.classList.remove("over");
    }));
    zone.addEventListener("drop", (event) => choose(event.dataTransfer.files));

    function send(entry) {
      return new Promise((resolve) => {
        const data = new FormData(form);
        data.delete(input.name);
        data.append(input.name, entry.file, entry.file.name);
        const title = (data.get("title") || "").trim();
        if (title && files.length > 1) data.set("title", title + " (" + entry.file.name + ")");
        const bar = entry.row.querySelector(".bar > span");
        const state = entry.row.querySelector(".state");
        entry.row.querySelectorAll(".error").forEach((node) => node.remove());
        bar.parentNode.classList.remove("ok", "bad");
        const xhr = new XMLHttpRequest();
        xhr.open("POST", form.action || window.location.href);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
        xhr.upload.addEventListener("progress", (event) => {
          if (!event.lengthComputable) return;
          const pct = Math.round((100 * event.loaded) / event.total);
          bar.style.width = pct + "%";
          state.textContent = pct < 100 ? pct + "%" : t("checking", "Checking…");
        });
        xhr.addEventListener("load", () => {
          let body = {};
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
          entry.done = xhr.status >= 200 && xhr.status < 300;
          bar.style.width = "100%";
          bar.parentNode.classList.add(entry.done ? "ok" : "bad");
          state.textContent = entry.done ? t("uploaded", "Uploaded") : t("failed", "Failed");
          if (!entry.done) {
            const errors = (body.errors && body.errors.length) ? body.errors
              : [xhr.status === 503 ? t("queue_down", "Background jobs are unavailable.") : t("upload_failed", "The upload failed.")];
            const note = document.createElement("div");
            note.className = "error";
            note.textContent = errors.join(" ");
            entry.row.appendChild(note);
          }
          resolve(body);
        });
        xhr.addEventListener("error", () => {
          bar.parentNode.classList.add("bad");
          state.textContent = t("failed", "Failed");
          resolve({});
        });
        state.textContent = "0%";
        xhr.send(data);
      });
    }

    form.addEventListener("submit", async (event) => {
      if (!files.length && input.files.length) choose(input.files);
      if (!files.length) return; // nothing chosen: let the browser post and the server explain
      event.preventDefault();
      button.disabled = true;
      form.classList.add("busy");
      const pending = files.filter((entry) => !entry.done);
      let redirect = null;
      const workers = Array.from({length: Math.min(2, pending.length)}, async () => {
        while (pending.length) {
          const body = await send(pending.shift());
          if (body && body.redirect) redirect = body.redirect;
        }
      });
      await Promise.all(workers);
      button.disabled = false;
      form.classList.remove("busy");
      const failed = files.filter((entry) => !entry.done);
      if (!failed.length) {
        window.location.assign(files.length === 1 && redirect ? redirect : (form.dataset.doneUrl || redirect || window.location.href));
      } else {
        files = failed;  // keep only what failed, so "Upload" again retries exactly those
        form.querySelector(".upload-summary").textContent = t("some_failed", "Some files were not accepted; see the reasons above.");
      }
    });
  }
  document.querySelectorAll("form[data-uploader]").forEach(setupUploader);

  /* ---- new batch: select by tag, live estimate ------------------------------------------------------------- */
  function setupBatchForm(form) {
    const presenters = () => Array.from(form.querySelectorAll("input[name=presenters]"));
    const summary = form.querySelector("[data-estimate]");
    const sample = form.querySelector("input[name=preview]");
    const sampleSeconds = parseFloat(form.dataset.sampleSeconds || "5");
    const minutesLeft = parseFloat(form.dataset.minutesLeft || "NaN");

    form.querySelectorAll("[data-select-tag]").forEach((button) => button.addEventListener("click", () => {
      const tag = button.dataset.selectTag;
      const matching = presenters().filter((box) => tag === "*" || (box.dataset.tags || "").split("|").includes(tag));
      const allOn = matching.every((box) => box.checked);
      matching.forEach((box) => { box.checked = !allOn; });
      update();
    }));
    form.querySelectorAll("[data-select-none]").forEach((button) => button.addEventListener("click", () => {
      presenters().forEach((box) => { box.checked = false; });
      update();
    }));

    function update() {
      const audio = form.querySelector("input[name=audio]:checked");
      const n = presenters().filter((box) => box.checked).length;
      const isSample = sample && sample.checked;
      const per = audio ? (isSample ? Math.min(sampleSeconds, parseFloat(audio.dataset.duration || "0")) : parseFloat(audio.dataset.duration || "0")) : 0;
      const total = per * n;
      summary.querySelector("[data-count]").textContent = String(n);
      summary.querySelector("[data-per-video]").textContent = audio ? humanSeconds(per) : "—";
      summary.querySelector("[data-total]").textContent = audio && n ? humanSeconds(total) : "—";
      const note = summary.querySelector("[data-note]");
      let message = "";
      if (!audio) message = t("pick_audio", "Choose an audio track.");
      else if (!n) message = t("pick_presenters", "Choose at least one presenter.");
      else if (isSample && n !== 1) message = t("sample_one", "A sample renders one presenter; choose exactly one.");
      else if (!Number.isNaN(minutesLeft) && total / 60 > minutesLeft) message = t("over_quota", "This is more than the output minutes left this month.");
      note.textContent = message;
      note.className = message ? "problem" : "";
      const start = form.querySelector("button[type=submit]");
      if (start) start.disabled = Boolean(message);
    }
    form.addEventListener("change", update);
    update();
  }
  document.querySelectorAll("form[data-batch-form]").forEach(setupBatchForm);

  /* ---- job detail: live progress without reloading --------------------------------------------------------- */
  function setupJob(root) {
    const url = root.dataset.statusUrl;
    const finished = ["succeeded", "partially_failed", "failed", "canceled"];
    const resultTemplate = document.getElementById("item-result-template");
    let failures = 0;

    function setBadge(node, status, label) {
      if (!node) return;
      node.className = "badge badge-" + status;
      node.textContent = label;
    }
    function setBar(bar, percent, status) {
      if (!bar) return;
      bar.querySelector("span").style.width = percent + "%";
      bar.classList.toggle("ok", status === "succeeded");
      bar.classList.toggle("bad", status === "failed");
      bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    }

    function updateItem(item) {
      const row = root.querySelector('[data-item="' + item.id + '"]');
      if (!row) return;
      row.dataset.status = item.status;
      setBadge(row.querySelector(".badge"), item.status, item.status_label);
      setBar(row.querySelector(".bar"), item.progress, item.status);
      row.querySelector(".pct").textContent = Math.round(item.progress) + "%";
      row.querySelector(".stage").textContent = item.stage_label || "";
      row.querySelector(".eta").textContent = item.eta_label || "";
      const error = row.querySelector(".item-error");
      error.textContent = item.error_label || item.error || "";
      error.classList.toggle("hidden", !item.error);
      const result = row.querySelector(".result-media");
      if (item.status === "succeeded" && item.preview_url && result && !result.childElementCount && resultTemplate) {
        const fragment = resultTemplate.content.cloneNode(true);
        fragment.querySelector("video").src = item.preview_url;
        fragment.querySelector("a.download").href = item.download_url;
        const score = fragment.querySelector(".sync");
        if (score) score.textContent = item.sync_label || "";
        result.appendChild(fragment);
      }
    }

    function updateBatch(data) {
      root.dataset.status = data.status;
      setBadge(root.querySelector("[data-batch-badge]"), data.status, data.status_label);
      setBar(root.querySelector("[data-batch-bar]"), data.progress, data.status === "succeeded" ? "succeeded" : "");
      const pct = root.querySelector("[data-batch-pct]");
      if (pct) pct.textContent = Math.round(data.progress) + "%";
      const counts = root.querySelector("[data-batch-counts]");
      if (counts) counts.textContent = data.counts_label;
      const eta = root.querySelector("[data-batch-eta]");
      if (eta) eta.textContent = data.eta_label || "";
      root.querySelectorAll("[data-show-when]").forEach((node) => {
        const rule = node.dataset.showWhen;
        const show = (rule === "active" && data.active) || (rule === "failed" && data.has_failed)
          || (rule === "outputs" && data.has_outputs);
        node.classList.toggle("hidden", !show);
      });
      data.items.forEach(updateItem);
    }

    async function poll() {
      try {
        const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        failures = 0;
        updateBatch(data);
        root.dataset.polls = String(parseInt(root.dataset.polls || "0", 10) + 1);
        if (finished.includes(data.status)) return;
      } catch (e) {
        failures += 1;
      }
      setTimeout(poll, Math.min(10000, 1000 * (1 + failures)));
    }
    if (!finished.includes(root.dataset.status)) setTimeout(poll, 800);
  }
  document.querySelectorAll("[data-status-url]").forEach(setupJob);

  /* ---- confirm dangerous buttons ------------------------------------------------------------------------- */
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
