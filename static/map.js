// The map page (appliance/src/web/map.rs): Leaflet over the offline basemap, the hub's own
// tiles when it has some, and the elements as clustered markers. Every URL is the hub's own;
// the page lists the same elements without this file. Options come from #map's data-*.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L || !L.markerClusterGroup || !window.XMLHttpRequest) {
    return;
  }
  var d = el.dataset;
  var embed = d.embed === "1";
  var kinds = {};
  try {
    kinds = JSON.parse(d.kinds || "{}");
  } catch (e) {
    kinds = {};
  }

  el.hidden = false;
  if (embed) {
    // The iframe is the map.
    el.style.cssText = "position:fixed;top:0;right:0;bottom:0;left:0;height:auto;min-height:0;border:0;border-radius:0";
  }
  el.style.background = "#cfe3ef";

  // Leaflet's marker images, from the hub (hashed names, cached for good).
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions({
    iconUrl: d.icon,
    iconRetinaUrl: d.icon2x,
    shadowUrl: d.shadow
  });

  var center = (d.center || "46.6,2.5").split(",");
  var map = L.map(el, {
    center: [parseFloat(center[0]), parseFloat(center[1])],
    zoom: parseInt(d.zoom, 10) || 5,
    minZoom: 3,
    maxZoom: 18,
    preferCanvas: true,
    worldCopyJump: false
  });
  // Plain text: Leaflet's own prefix links to its web site, out of reach offline.
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution("Natural Earth, GeoNames");

  function get(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.onload = function () {
      if (xhr.status !== 200) {
        return;
      }
      var data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        return;
      }
      done(data);
    };
    xhr.send();
  }

  // Only paths of this hub: never a scheme or another host.
  function local(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") < 0;
  }

  // The basemap: land, coasts and borders (Natural Earth), under everything.
  var basemapPane = map.createPane("basemap");
  basemapPane.style.zIndex = 150;
  var styles = {
    land: { stroke: false, fillColor: "#ece9e2", fillOpacity: 1 },
    france: { stroke: false, fillColor: "#fbfaf6", fillOpacity: 1 },
    coast: { color: "#7a9bb0", weight: 1, fill: false },
    border: { color: "#8c8c8c", weight: 1.2, dashArray: "4 3", fill: false }
  };
  if (d.basemap) {
    get(d.basemap, function (data) {
      L.geoJSON(data, {
        pane: "basemap",
        interactive: false,
        style: function (f) {
          return styles[f.properties && f.properties.k] || styles.land;
        }
      }).addTo(map);
    });
  }

  // Department names from zoom 7, built with textContent (never HTML).
  var labels = L.layerGroup();
  if (d.labels) {
    get(d.labels, function (data) {
      for (var i = 0; i < data.length; i++) {
        var item = data[i];
        var span = document.createElement("span");
        span.textContent = item[1];
        span.style.cssText =
          "display:block;transform:translate(-50%,-50%);white-space:nowrap;font:600 12px/1.2 sans-serif;" +
          "color:#6b6257;text-shadow:0 0 2px #fff,0 0 2px #fff;pointer-events:none";
        L.marker([item[2], item[3]], {
          icon: L.divIcon({ html: span, className: "", iconSize: null }),
          interactive: false,
          keyboard: false,
          pane: "basemap"
        }).addTo(labels);
      }
      showLabels();
    });
  }
  function showLabels() {
    if (map.getZoom() >= 7) {
      labels.addTo(map);
    } else {
      labels.remove();
    }
  }
  map.on("zoomend", showLabels);

  // The hub's own raster tiles, only when it has some ("min,max" zoom levels present).
  if (d.tiles) {
    var zooms = d.tiles.split(",");
    L.tileLayer("/tiles/{z}/{x}/{y}.png", {
      minNativeZoom: parseInt(zooms[0], 10) || 0,
      maxNativeZoom: parseInt(zooms[1], 10) || 18,
      maxZoom: 18,
      attribution: "OpenStreetMap"
    }).addTo(map);
  }

  function popup(props) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = props.name || "";
    box.appendChild(name);
    if (kinds[props.kind]) {
      var kind = document.createElement("div");
      kind.textContent = kinds[props.kind];
      box.appendChild(kind);
    }
    var href = local(props.url) ? props.url : null;
    if (!href && props.kind && props.slug) {
      href = "/" + encodeURIComponent(props.kind) + "/" + encodeURIComponent(props.slug);
    }
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = d.open || "→";
      if (embed) {
        link.target = "_blank";
        link.rel = "noopener";
      }
      var p = document.createElement("div");
      p.appendChild(link);
      box.appendChild(p);
    }
    return box;
  }

  function marker(at, props) {
    var name = String(props.name || "");
    // The popup is built when first opened.
    return L.marker(at, { title: name, alt: name }).bindPopup(function () {
      return popup(props);
    });
  }

  var cluster = L.markerClusterGroup({ showCoverageOnHover: false, chunkedLoading: true, maxClusterRadius: 50 });
  cluster.addTo(map);
  if (d.points && local(d.points)) {
    get(d.points, function (data) {
      var features = (data && data.features) || [];
      var markers = [];
      var points = [];
      for (var i = 0; i < features.length; i++) {
        var f = features[i];
        var g = f && f.geometry;
        if (!g || g.type !== "Point" || !g.coordinates) {
          continue;
        }
        var lon = Number(g.coordinates[0]);
        var lat = Number(g.coordinates[1]);
        if (!isFinite(lat) || !isFinite(lon)) {
          continue;
        }
        markers.push(marker([lat, lon], f.properties || {}));
        points.push([lat, lon]);
      }
      cluster.addLayers(markers);
      if (points.length > 0) {
        map.fitBounds(L.latLngBounds(points), { padding: [30, 30], maxZoom: 14 });
      }
    });
  }
})();
