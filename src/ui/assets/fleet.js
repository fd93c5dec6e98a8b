// The Fleet page: reloads its counts and rows (htmx) when the stream reports a node, pot or
// alert change, at most every 2 s, and every 30 s for the rates.
(function () {
  'use strict';
  if (!document.getElementById('fleet-live')) return;
  var refresh = window.hb.throttle(function () {
    window.hb.refresh('#fleet-live');
  }, 2000);
  window.hb.live('/ui/live', function (m) {
    if (m.kind === 'node' || m.kind === 'pot' || m.kind === 'alert') refresh();
  });
  setInterval(refresh, 30000);
})();
