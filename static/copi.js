// CoPi's small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Keep the pages a visitor saw when the phone leaves the hub's Wi-Fi.
  if ("serviceWorker" in navigator && location.protocol.indexOf("http") === 0) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
  // Search suggestions as the visitor types (the plain form works without them).
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  if (input && list && window.fetch) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        fetch("/api/v1/search/suggest?q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            list.textContent = "";
            data.items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.name || "";
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 150);
    });
  }
})();
