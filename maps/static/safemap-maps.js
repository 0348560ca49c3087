/* safemap web maps: the small client side shared by every map page (served by the app,
 * never from a CDN). Layers are plain Leaflet; this file styles them from a table, builds
 * zh-TW popups from escaped text, keeps one legend per visible layer, and falls back to a
 * plain background when the basemap tiles cannot be loaded. */
(function () {
  "use strict";
  var SM = (window.SafeMap = {});

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  SM.esc = function (s) {
    return s === null || s === undefined ? "" : String(s).replace(/[&<>"']/g, function (c) {
      return ESC[c];
    });
  };

  var canvas = null;
  SM.renderer = function () {
    // One canvas for all point and line layers drawn on canvas: far cheaper than SVG nodes.
    if (!canvas) canvas = L.canvas({ padding: 0.3, tolerance: 3 });
    return canvas;
  };

  function fmt(value, kind) {
    if (value === null || value === undefined || value === "") return "—";
    switch (kind) {
      case "pct":
        return typeof value === "number" && isFinite(value) ? (value * 100).toFixed(1) + "%" : "—";
      case "int":
        return Number(value).toLocaleString("zh-TW");
      case "ntd":
        return "NT$ " + Number(value).toLocaleString("zh-TW");
      case "num1":
        return Number(value).toFixed(1);
      case "km":
        return Number(value).toFixed(2) + " 公里";
      case "m":
        return Math.round(Number(value)) + " 公尺";
      case "deg":
        return Math.round(Number(value)) + "°";
      case "yesno":
        return value ? "是" : "否";
      default:
        if (kind && typeof kind === "object") return kind[value] !== undefined ? kind[value] : value;
        return value;
    }
  }
  SM.fmt = fmt;

  /* popup: {title: key|null, heading: text, fields: [[key, label, kind]], link: {href, text}} */
  SM.popupHtml = function (p, o) {
    var h = '<div class="sm-popup">';
    var title = o.heading || "";
    if (o.title && p[o.title]) title = (title ? title + "：" : "") + p[o.title];
    if (title) h += '<div class="sm-popup-title">' + SM.esc(title) + "</div>";
    h += "<table>";
    (o.fields || []).forEach(function (f) {
      var v = p[f[0]];
      if (f[3] === "skip-empty" && (v === null || v === undefined || v === "")) return;
      h += "<tr><th>" + SM.esc(f[1]) + "</th><td>" + SM.esc(fmt(v, f[2])) + "</td></tr>";
    });
    h += "</table>";
    if (o.link && p.id !== undefined && p.id !== null) {
      var href = o.link.href.replace("{id}", encodeURIComponent(p.id));
      h += '<a class="sm-popup-link" href="' + SM.esc(href) + '" target="_blank" rel="noopener">' +
        SM.esc(o.link.text) + "</a>";
    }
    return h + "</div>";
  };

  function styleFor(props, o) {
    var s = Object.assign({}, o.style.base || {});
    if (o.style.by) Object.assign(s, (o.style.map || {})[props[o.style.by]] || o.style.other || {});
    return s;
  }

  /* A GeoJSON layer styled from a table: o.style = {base, by, map, other}; points become
   * circle markers on the shared canvas; o.popup and o.tooltip as above. */
  SM.geojson = function (data, o) {
    var opts = {
      style: function (f) {
        return styleFor(f.properties, o);
      },
      pointToLayer: function (f, latlng) {
        var s = styleFor(f.properties, o);
        s.renderer = SM.renderer();
        if (o.label && f.properties[o.label] !== undefined) {
          return L.marker(latlng, {
            icon: L.divIcon({
              className: "sm-num",
              html: '<span style="background:' + SM.esc(s.fillColor || s.color) + '">' +
                SM.esc(f.properties[o.label]) + "</span>",
              iconSize: [22, 22],
              iconAnchor: [11, 11],
            }),
            keyboard: false,
          });
        }
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, layer) {
        if (o.popup) {
          layer.bindPopup(function () {
            return SM.popupHtml(f.properties, o.popup);
          }, { maxWidth: 340 });
        }
        if (o.tooltip && f.properties[o.tooltip]) {
          layer.bindTooltip(SM.esc(f.properties[o.tooltip]), { sticky: true, direction: "top" });
        }
      },
    };
    if (o.canvas) opts.renderer = SM.renderer();
    if (o.interactive === false) opts.interactive = false;
    var layer = L.geoJSON(data, opts);
    if (o.label) {
      // Lines and areas get their number too, at their centre, so the printed list matches.
      layer.getLayers().forEach(function (l) {
        if (!l.getBounds || !l.feature || l.feature.properties[o.label] === undefined) return;
        var s = styleFor(l.feature.properties, o);
        layer.addLayer(L.marker(l.getBounds().getCenter(), {
          icon: L.divIcon({
            className: "sm-num",
            html: '<span style="background:' + SM.esc(s.fillColor || s.color) + '">' +
              SM.esc(l.feature.properties[o.label]) + "</span>",
            iconSize: [22, 22],
            iconAnchor: [11, 11],
          }),
          keyboard: false,
          interactive: false,
        }));
      });
    }
    return layer;
  };

  /* Many points in a compact form: d = {rows: [[lat, lon, class, id], ...]}; o.classes maps
   * a class to a circle style. Drawn on the shared canvas; a popup is built on click only. */
  SM.points = function (d, o) {
    var group = L.featureGroup();
    var r = SM.renderer();
    var styles = {};
    Object.keys(o.classes).forEach(function (k) {
      styles[k] = Object.assign({ renderer: r, radius: o.radius || 3, weight: 0.5, fillOpacity: 0.85 }, o.classes[k]);
    });
    for (var i = 0; i < d.rows.length; i++) {
      var row = d.rows[i];
      var m = L.circleMarker([row[0], row[1]], styles[row[2]] || styles[Object.keys(styles)[0]]);
      m.smRow = row;
      group.addLayer(m);
    }
    if (o.popup) {
      group.on("click", function (e) {
        var row = e.layer.smRow;
        var props = { id: row[3], status: row[2] };
        L.popup({ maxWidth: 300 }).setLatLng(e.latlng).setContent(SM.popupHtml(props, o.popup)).openOn(e.target._map);
      });
    }
    return group;
  };

  /* Place names drawn as text at given points: rows = [[lat, lon, text]]. o.minZoom hides
   * them below that zoom (village names only make sense close in). */
  SM.labels = function (rows, o) {
    var group = L.layerGroup();
    rows.forEach(function (r) {
      group.addLayer(L.marker([r[0], r[1]], {
        icon: L.divIcon({ className: "sm-label " + (o.cls || ""), html: SM.esc(r[2]), iconSize: null }),
        interactive: false,
        keyboard: false,
      }));
    });
    if (o.minZoom) {
      group.on("add", function () {
        var map = group._map;
        var update = function () {
          var c = map.getContainer();
          if (map.getZoom() >= o.minZoom) c.classList.remove("sm-hide-" + o.cls);
          else c.classList.add("sm-hide-" + o.cls);
        };
        map.on("zoomend", update);
        update();
      });
    }
    return group;
  };

  /* Legend: one section per layer, shown while the layer is on the map. */
  SM.legend = function (map, items, o) {
    o = o || {};
    var control = L.control({ position: o.position || "bottomleft" });
    var div;
    function refresh() {
      if (!div) return;
      var html = "";
      items.forEach(function (it) {
        if (map.hasLayer(it.layer)) html += it.html;
      });
      div.innerHTML = '<div class="sm-legend-head" title="點選收合／展開">圖例 <span>▾</span></div>' +
        '<div class="sm-legend-body">' + (html || '<div class="sm-legend-empty">（未顯示任何圖層）</div>') + "</div>";
    }
    control.onAdd = function () {
      div = L.DomUtil.create("div", "sm-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div, "click", function (e) {
        if (e.target.closest(".sm-legend-head")) div.classList.toggle("sm-collapsed");
      });
      refresh();
      return div;
    };
    control.addTo(map);
    var pending = null;
    map.on("layeradd layerremove", function () {
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        refresh();
      }, 0);
    });
    return control;
  };

  /* Only one of these overlays at a time (choropleths of different figures). */
  SM.exclusive = function (map, layers) {
    map.on("overlayadd", function (e) {
      if (layers.indexOf(e.layer) < 0) return;
      layers.forEach(function (l) {
        if (l !== e.layer && map.hasLayer(l)) map.removeLayer(l);
      });
    });
  };

  /* When the basemap cannot be reached (offline, blocked), say so once and keep the data
   * layers over the plain background; the outlines are data layers, not tiles. */
  SM.basemap = function (map, tiles, o) {
    var loaded = 0, failed = 0, shown = false;
    tiles.on("tileload", function () {
      loaded++;
    });
    tiles.on("tileerror", function () {
      failed++;
      if (!shown && loaded === 0 && failed >= (o.threshold || 3)) {
        shown = true;
        var c = map.getContainer();
        c.classList.add("sm-no-tiles");
        // A banner across the top of the map: the corners belong to the controls.
        var d = L.DomUtil.create("div", "sm-note", c);
        d.textContent = "底圖（" + o.name + "）目前無法載入，以純色底圖顯示；行政區與村里界仍可使用。";
      }
    });
  };

  SM.printButton = function (map) {
    var c = L.control({ position: "topleft" });
    c.onAdd = function () {
      var b = L.DomUtil.create("a", "sm-print leaflet-bar");
      b.href = "#";
      b.title = "列印（A4 橫式）";
      b.textContent = "列印";
      L.DomEvent.on(b, "click", function (e) {
        L.DomEvent.preventDefault(e);
        window.print();
      });
      return b;
    };
    c.addTo(map);
    window.addEventListener("beforeprint", function () {
      map.invalidateSize();
    });
    window.addEventListener("afterprint", function () {
      map.invalidateSize();
    });
  };

  /* Rows of a figures table with data-bounds="w,s,e,n" zoom the map to their area. */
  SM.panel = function (map, id) {
    var el = document.getElementById(id);
    if (!el) return;
    el.addEventListener("click", function (e) {
      var tr = e.target.closest("[data-bounds]");
      if (!tr) return;
      var b = tr.getAttribute("data-bounds").split(",").map(Number);
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    });
  };
})();

/* leaflet.heat draws on a canvas as big as the map; a map laid out at zero width (a lazily
   loaded frame on a phone, a hidden tab) makes getImageData throw. Skip drawing until the
   canvas has a size: the layer redraws on the next resize or move. */
(function () {
  function guard(simpleheat) {
    if (!simpleheat || simpleheat.__safemapGuarded) return simpleheat;
    var draw = simpleheat.prototype.draw;
    simpleheat.prototype.draw = function () {
      if (!this._width || !this._height) return this;
      return draw.apply(this, arguments);
    };
    simpleheat.__safemapGuarded = true;
    return simpleheat;
  }
  if (window.simpleheat) {
    guard(window.simpleheat);
  } else {
    var current;
    Object.defineProperty(window, "simpleheat", {
      configurable: true,
      get: function () { return current; },
      set: function (value) { current = guard(value); },
    });
  }
})();
