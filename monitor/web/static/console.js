// Shows every <time datetime="..."> in the viewer's time zone; without this script times stay in UTC.
(function () {
  "use strict";
  function localise() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    var fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) { continue; }
      t.title = t.textContent;  // the UTC text stays as a tooltip
      t.textContent = fmt.format(d);
    }
    var zones = document.querySelectorAll(".zone");
    for (var j = 0; j < zones.length; j++) { zones[j].textContent = zone || "your time zone"; }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localise);
  } else {
    localise();
  }
})();
