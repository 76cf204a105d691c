// Live updates over server-sent events; every page reads fine without this file.
(function () {
  "use strict";
  var body = document.body, url = body.dataset.stream;
  if (!url || !window.EventSource) return;
  if (body.dataset.seq) url += "?since=" + encodeURIComponent(body.dataset.seq);
  var source = new EventSource(url);
  function badge(state) {
    var s = document.createElement("span");
    s.className = "badge st-" + state; s.textContent = state; return s;
  }
  function setBadge(el, state) { if (el) { el.textContent = ""; el.appendChild(badge(state)); } }
  // the job page: the log tail again after every change of the job, and every second
  // while it runs (a shell job's output so far)
  function refreshLog() {
    fetch(body.dataset.log, {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (text) {
      var pre = document.getElementById("log-tail");
      if (pre && text !== null && pre.textContent !== text) {
        pre.textContent = text; pre.scrollTop = pre.scrollHeight;
      }
    });
  }
  if (body.dataset.page === "job") {
    setInterval(function () { if (body.dataset.running) refreshLog(); }, 1000);
  }
  source.addEventListener("changed", function () {
    var note = document.getElementById("live-note");
    if (note) note.hidden = false;
  });
  source.addEventListener("state", function (e) {
    var d = JSON.parse(e.data);
    setBadge(document.getElementById("run-status"), d.status);
    var counts = document.querySelectorAll("#run-counts [data-count]");
    counts.forEach(function (el) { el.textContent = d.counts[el.dataset.count] || 0; });
    var known = {}; counts.forEach(function (el) { known[el.dataset.count] = 1; });
    var list = document.querySelector("#run-counts ul");
    Object.keys(d.counts).forEach(function (s) {
      if (known[s] || !list) return;
      var li = document.createElement("li"), b = document.createElement("b");
      b.dataset.count = s; b.textContent = d.counts[s];
      li.appendChild(badge(s)); li.appendChild(document.createTextNode(" ")); li.appendChild(b);
      list.appendChild(li);
    });
    d.jobs.forEach(function (j) {
      var row = document.querySelector('tr[data-job="' + CSS.escape(j[0]) + '"]');
      if (row) {
        setBadge(row.querySelector(".state"), j[1]);
        row.querySelector(".attempts").textContent = j[2];
      }
      if (body.dataset.page === "job" && body.dataset.job === j[0]) {
        setBadge(document.getElementById("job-status"), j[1]);
        if (j[1] === "running") body.dataset.running = "1"; else delete body.dataset.running;
        var note = document.getElementById("log-live");
        if (note) note.hidden = j[1] !== "running";
        refreshLog();
      }
    });
  });
})();
