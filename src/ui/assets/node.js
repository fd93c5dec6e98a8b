// The Node page: reloads its live part (htmx) when the stream reports a change of this node,
// its pots or its commands; shows only the command form's fields the chosen command takes.
(function () {
  'use strict';
  var live = document.getElementById('node-live');
  if (live) {
    var refresh = window.hb.throttle(function () {
      window.hb.refresh('#node-live');
    }, 500);
    window.hb.live(live.getAttribute('data-live'), function (m) {
      if (m.kind === 'node' || m.kind === 'pot' || m.kind === 'command' || m.kind === 'alert') {
        refresh();
      }
    });
  }
  var form = document.getElementById('command-form');
  var select = document.getElementById('command-name');
  if (form && select) {
    var potCommands = ['InstallPot', 'DeployPot', 'StopPot', 'RestartPot', 'GetPotStatus',
      'GetPotInfo', 'GetPotLogs', 'GetPotMetrics'];
    var show = function () {
      var c = select.value;
      form.querySelectorAll('[data-for]').forEach(function (el) {
        var kind = el.getAttribute('data-for');
        el.hidden = kind === 'pot' ? potCommands.indexOf(c) < 0 : c !== 'InstallPot';
      });
    };
    select.addEventListener('change', show);
    show();
  }
})();
