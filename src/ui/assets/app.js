// HoneyBee Core dashboard: what every page shares. Scripts only enhance pages that work
// without them. No inline script anywhere (the CSP forbids it), and text from the Core is only
// ever written with textContent, never parsed as HTML.
(function () {
  'use strict';
  var hb = (window.hb = {});

  // Times arrive as UTC in the markup; show them in the viewer's zone, UTC stays on hover.
  hb.localTimes = function (root) {
    (root || document).querySelectorAll('time[datetime]').forEach(function (el) {
      var d = new Date(el.dateTime);
      if (!isNaN(d.getTime())) {
        el.textContent = d.toLocaleString();
      }
    });
  };

  // Runs fn at most once per `ms`, and once more after a burst.
  hb.throttle = function (fn, ms) {
    var timer = null;
    var again = false;
    return function () {
      if (timer) {
        again = true;
        return;
      }
      fn();
      timer = setTimeout(function () {
        timer = null;
        if (again) {
          again = false;
          fn();
        }
      }, ms);
    };
  };

  // The Core's stream for this session (`/ui/live`), reconnecting with backoff.
  hb.live = function (path, onMessage, onState) {
    var delay = 500;
    function open() {
      var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
      var ws = new WebSocket(scheme + location.host + path);
      ws.onopen = function () {
        delay = 500;
        if (onState) onState(true);
      };
      ws.onmessage = function (m) {
        var value;
        try {
          value = JSON.parse(m.data);
        } catch (e) {
          return;
        }
        onMessage(value);
      };
      ws.onclose = function () {
        if (onState) onState(false);
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
  };

  // Reloads the part `selector` of this page from the server (htmx), without a full reload.
  hb.refresh = function (selector) {
    if (!window.htmx || !document.querySelector(selector)) return;
    window.htmx.ajax('GET', location.pathname + location.search, {
      target: selector,
      select: selector,
      swap: 'outerHTML',
    });
  };

  // Untrusted text with control and bidi-override characters written out (as the server does).
  hb.visible = function (text) {
    if (text === null || text === undefined) return '';
    return String(text).replace(
      /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
      function (c) {
        var n = c.charCodeAt(0);
        return n < 256 ? '\\x' + ('0' + n.toString(16)).slice(-2) : '\\u{' + n.toString(16) + '}';
      }
    );
  };

  document.addEventListener('DOMContentLoaded', function () {
    hb.localTimes();
  });
  // A part reloaded after the session ended comes back as the sign-in form: go there.
  document.addEventListener('htmx:beforeSwap', function (e) {
    var url = e.detail.xhr && e.detail.xhr.responseURL;
    if (url && url.indexOf('/ui/signin') >= 0) {
      e.detail.shouldSwap = false;
      location.assign('/ui/signin?next=' + encodeURIComponent(location.pathname + location.search));
    }
  });
  document.addEventListener('htmx:afterSettle', function (e) {
    hb.localTimes(e.target);
  });
})();
