(function () {
  "use strict";

  // Charts: figure specs arrive as JSON in a data block (never as script source).
  var dataBlock = document.getElementById("chart-data");
  var charts = dataBlock ? JSON.parse(dataBlock.textContent) : {};
  var config = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]
  };
  Object.keys(charts).forEach(function (name) {
    var spec = charts[name];
    var target = document.getElementById("chart-" + name);
    if (spec && target && window.Plotly) {
      window.Plotly.newPlot(target, spec.data, spec.layout, config);
    }
  });

  // Sortable tables: click a header to sort by that column (numbers numerically).
  function sortValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    return raw !== null ? raw : cell.textContent.trim();
  }
  function compare(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    var xNum = a !== "" && !isNaN(x), yNum = b !== "" && !isNaN(y);
    if (xNum && yNum) return x - y;
    return a.localeCompare(b);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.setAttribute("role", "button");
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = sortValue(r1, index), b = sortValue(r2, index);
          if ((a === "") !== (b === "")) return a === "" ? 1 : -1;  // empty cells last either way
          var result = compare(a, b);
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  // Transcript filter, status filter, expand/collapse.
  var episodes = document.querySelectorAll("details.episode");
  var search = document.getElementById("episode-search");
  var status = document.getElementById("episode-status");
  var shown = document.getElementById("episode-count");
  function applyFilter() {
    var query = search ? search.value.trim().toLowerCase() : "";
    var wanted = status ? status.value : "";
    var count = 0;
    Array.prototype.forEach.call(episodes, function (ep) {
      var visible = (!query || ep.getAttribute("data-search").indexOf(query) !== -1) &&
        (!wanted || ep.getAttribute("data-status") === wanted);
      ep.hidden = !visible;
      if (visible) count += 1;
    });
    if (shown) shown.textContent = count + " of " + episodes.length + " shown";
  }
  if (search) search.addEventListener("input", applyFilter);
  if (status) status.addEventListener("change", applyFilter);
  function setOpen(open) {
    Array.prototype.forEach.call(episodes, function (ep) { if (!ep.hidden) ep.open = open; });
  }
  var expand = document.getElementById("expand-all");
  var collapse = document.getElementById("collapse-all");
  if (expand) expand.addEventListener("click", function () { setOpen(true); });
  if (collapse) collapse.addEventListener("click", function () { setOpen(false); });
  applyFilter();
})();
