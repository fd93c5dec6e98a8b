// The Attacks page: the live feed (the newest 500 events, rendered in batches every 150 ms so
// a flood never freezes the tab; pausable) and the events-per-hour charts (uPlot).
(function () {
  'use strict';
  var hb = window.hb;
  var KEEP = 500;
  var table = document.getElementById('feed');
  var rows = document.getElementById('feed-rows');
  var stateText = document.getElementById('feed-state');
  var pause = document.getElementById('pause');
  var queue = [];
  var paused = false;
  var live = false;
  // One formatter for every row (toLocaleTimeString builds one per call, which is slow).
  var clock = new Intl.DateTimeFormat(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

  function say() {
    stateText.textContent = paused
      ? 'Paused (' + queue.length + ' newest kept)'
      : live ? 'Live' : 'Connecting…';
  }

  function td(tr, text, cls) {
    var cell = document.createElement('span');
    cell.setAttribute('role', 'cell');
    var shown = hb.visible(text);
    cell.textContent = shown;
    // Cells are cut to their column; the whole value shows on hover.
    if (shown.length > 24) cell.title = shown;
    if (cls) cell.className = cls;
    tr.appendChild(cell);
    return cell;
  }

  function link(tr, href, text, cls) {
    var cell = document.createElement('span');
    cell.setAttribute('role', 'cell');
    if (cls) cell.className = cls;
    var a = document.createElement('a');
    a.href = href;
    a.textContent = hb.visible(text);
    cell.appendChild(a);
    tr.appendChild(cell);
  }

  function row(e) {
    var tr = document.createElement('div');
    tr.className = 'feed-row';
    tr.setAttribute('role', 'row');
    var cell = document.createElement('span');
    cell.setAttribute('role', 'cell');
    var time = document.createElement('time');
    time.dateTime = e.received_at;
    time.title = e.received_at;
    var d = new Date(e.received_at);
    time.textContent = isNaN(d.getTime()) ? hb.visible(e.received_at) : clock.format(d);
    cell.appendChild(time);
    tr.appendChild(cell);
    link(tr, '/ui/nodes/' + encodeURIComponent(e.node_id_str), e.node_name);
    td(tr, e.pot_id + (e.pot_type ? ' · ' + e.pot_type : ''));
    td(tr, e.event_type);
    if (e.src_ip) {
      link(tr, '/ui/events?src_ip=' + encodeURIComponent(e.src_ip), e.src_ip, 'mono');
    } else {
      td(tr, '', 'mono');
    }
    td(tr, e.username, 'mono');
    td(tr, e.password, 'mono');
    td(tr, e.command || e.download_url || '', 'mono');
    return tr;
  }

  // What rendering costs (read by the benchmark): batches, and the longest one's script time.
  var stats = (hb.feedStats = { batches: 0, longestMs: 0 });

  function flush() {
    if (paused || queue.length === 0) return;
    var started = performance.now();
    var batch = queue.length > KEEP ? queue.slice(queue.length - KEEP) : queue;
    queue = [];
    var fragment = document.createDocumentFragment();
    for (var i = batch.length - 1; i >= 0; i--) fragment.appendChild(row(batch[i]));
    rows.insertBefore(fragment, rows.firstChild);
    while (rows.childElementCount > KEEP) rows.lastElementChild.remove();
    stats.batches += 1;
    stats.longestMs = Math.max(stats.longestMs, performance.now() - started);
  }

  if (table && rows) {
    pause.disabled = false;
    pause.addEventListener('click', function () {
      paused = !paused;
      pause.setAttribute('aria-pressed', String(paused));
      pause.textContent = paused ? 'Resume' : 'Pause';
      say();
      flush();
    });
    hb.live(
      table.getAttribute('data-live'),
      function (m) {
        if (m.kind !== 'event') return;
        queue.push(m);
        // Only the newest KEEP can ever be shown: a hidden or paused tab keeps no more.
        if (queue.length > 2 * KEEP) queue.splice(0, queue.length - KEEP);
      },
      function (up) {
        live = up;
        say();
      }
    );
    setInterval(function () {
      if (document.hidden) {
        flush();
      } else {
        requestAnimationFrame(flush);
      }
    }, 150);
    say();
  }

  function draw(id, series) {
    var el = document.getElementById(id);
    if (!el || !window.uPlot) return;
    var css = getComputedStyle(document.documentElement);
    var accent = css.getPropertyValue('--accent').trim() || '#8a5a00';
    var fg = css.getPropertyValue('--fg').trim() || '#1d1d1b';
    var grid = css.getPropertyValue('--line').trim() || '#deded8';
    var opts = {
      width: Math.max(el.clientWidth, 260),
      height: 200,
      legend: { show: false },
      scales: { x: { time: true } },
      series: [{}, { label: 'events', stroke: accent, width: 2, fill: accent + '33' }],
      axes: [
        { stroke: fg, grid: { stroke: grid } },
        {
          stroke: fg,
          grid: { stroke: grid },
          size: 60,
          values: function (u, vals) {
            return vals.map(function (v) {
              return v.toLocaleString();
            });
          },
        },
      ],
    };
    new window.uPlot(opts, [series.hours, series.counts], el);
  }

  var charts = document.getElementById('charts');
  if (charts) {
    fetch(charts.getAttribute('data-src'), { credentials: 'same-origin' })
      .then(function (r) {
        return r.json();
      })
      .then(function (data) {
        draw('chart-day', data.day);
        draw('chart-week', data.week);
      })
      .catch(function () {});
  }
})();
