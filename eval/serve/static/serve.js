// The web app's only script (served from /static; the Content-Security-Policy allows no other).
(function () {
  "use strict";

  // Mark the current section in the navigation bar.
  var path = window.location.pathname;
  var current = path === "/" ? "nav-runs" : path.indexOf("/episode") === 0 ? "nav-episodes"
    : path.indexOf("/play") === 0 ? "nav-play" : null;
  if (current && document.getElementById(current)) {
    document.getElementById(current).setAttribute("aria-current", "page");
  }

  // Episode list: a changed choice applies the filter at once.
  var filters = document.getElementById("filters");
  if (filters) {
    Array.prototype.forEach.call(filters.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { filters.submit(); });
    });
  }

  // Play page: the live part is re-rendered by the server (escaped HTML) and streamed as events.
  var live = document.getElementById("live");
  function focusText() {
    var text = document.getElementById("act-text");
    if (text) text.focus();
  }
  function ended() {
    return live.querySelector("[data-ended]") !== null;
  }
  if (live && window.EventSource && !ended()) {
    var source = new EventSource(live.getAttribute("data-events"));
    source.addEventListener("live", function (event) {
      // Keep what the player is typing when the same turn's form comes back.
      var form = document.getElementById("act-form");
      var typed = form ? { turn: form.elements.turn.value, text: form.elements.text.value } : null;
      live.innerHTML = event.data;
      var again = document.getElementById("act-form");
      if (again && typed && again.elements.turn.value === typed.turn) {
        again.elements.text.value = typed.text;
      }
      if (again && !form) focusText();
      if (ended()) source.close();
    });
  }
  if (live) focusText();
})();
