// The Leaflet map: basemap (optional), up to two exposure overlays (A, and B revealed by a swipe), sensor
// markers, extra markers (residuals), a scale bar and a coordinates/value readout. Kept out of Svelte so the
// components stay declarative; everything here is plain Leaflet.

import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import type { OverlayImage } from './raster-client.ts';

export interface MarkerSpec {
  lat: number;
  lng: number;
  colour: string;
  radius?: number;
  title: string;
  /** Built when the popup opens (e.g. a chart of the sensor's readings). */
  popup?: () => HTMLElement | Promise<HTMLElement>;
  /** Test hook / identification. */
  id?: string;
}

export interface MapOptions {
  local: boolean;
  tileUrl: string | null;
  attribution: string;
  /** Text for the readout at a map position (coordinates, value under the cursor). */
  readout?: (lat: number, lng: number) => string;
}

export class MapController {
  readonly map: L.Map;
  private tiles: L.TileLayer | null = null;
  private overlays: { a: L.ImageOverlay | null; b: L.ImageOverlay | null } = { a: null, b: null };
  private urls: { a: string | null; b: string | null } = { a: null, b: null };
  private markers = L.layerGroup();
  private extra = L.layerGroup();
  private swipe: number | null = null;
  private divider: HTMLDivElement;
  private readoutEl: HTMLDivElement | null = null;
  private opacity = 0.75;
  // markers are SVG (clickable, inspectable) up to a few thousand; a drive test's tens of thousands go on a canvas
  private canvasRenderer = L.canvas({ padding: 0.2, pane: 'sensors' });
  private svgRenderer = L.svg({ padding: 0.2, pane: 'sensors' });
  readonly local: boolean;

  constructor(el: HTMLElement, private opts: MapOptions) {
    this.local = opts.local;
    this.map = L.map(el, {
      crs: opts.local ? L.CRS.Simple : L.CRS.EPSG3857,
      zoomControl: true,
      attributionControl: true,
      minZoom: opts.local ? -10 : 2,
      maxZoom: opts.local ? 10 : 22,
      zoomSnap: 0.25,
    });
    this.map.attributionControl.setPrefix('<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>');
    this.map.createPane('swipeB').style.zIndex = '401';
    this.map.createPane('sensors').style.zIndex = '450';
    L.control.scale({ imperial: false, maxWidth: 160 }).addTo(this.map);
    this.markers.addTo(this.map);
    this.extra.addTo(this.map);
    this.setTiles(opts.tileUrl, opts.attribution);
    this.addReadout();
    this.divider = document.createElement('div');
    this.divider.className = 'swipe-divider';
    this.divider.hidden = true;
    el.appendChild(this.divider);
    this.map.on('move zoom viewreset resize', () => this.updateClip());
    this.map.setView([50.63, 3.05], 14);
  }

  setTiles(url: string | null, attribution: string): void {
    if (this.tiles) {
      this.tiles.remove();
      this.tiles = null;
    }
    if (url && !this.local) {
      this.tiles = L.tileLayer(url, { attribution: escapeText(attribution), maxZoom: 19, crossOrigin: false }).addTo(this.map);
    }
  }

  private addReadout(): void {
    const Readout = L.Control.extend({
      onAdd: () => {
        const d = L.DomUtil.create('div', 'map-readout');
        d.textContent = this.local ? 'local coordinates (m)' : 'move over the map';
        this.readoutEl = d;
        return d;
      },
    });
    new Readout({ position: 'bottomright' }).addTo(this.map);
    this.map.on('mousemove', (e: L.LeafletMouseEvent) => {
      if (!this.readoutEl) return;
      this.readoutEl.textContent = this.opts.readout
        ? this.opts.readout(e.latlng.lat, e.latlng.lng)
        : `${e.latlng.lat.toFixed(5)}, ${e.latlng.lng.toFixed(5)}`;
    });
  }

  setOverlay(slot: 'a' | 'b', img: OverlayImage | null): void {
    const old = this.overlays[slot];
    if (img) {
      const bounds = L.latLngBounds(img.bounds);
      if (old) {
        old.setUrl(img.url);
        old.setBounds(bounds);
      } else {
        this.overlays[slot] = L.imageOverlay(img.url, bounds, {
          opacity: this.opacity,
          className: `emfmap-overlay overlay-${slot}`,
          pane: slot === 'b' ? 'swipeB' : 'overlayPane',
          interactive: false,
        }).addTo(this.map);
      }
    } else if (old) {
      old.remove();
      this.overlays[slot] = null;
    }
    // release the previous image once the new one is in place
    const prev = this.urls[slot];
    this.urls[slot] = img?.url ?? null;
    if (prev && prev !== img?.url) setTimeout(() => URL.revokeObjectURL(prev), 2000);
    this.updateClip();
  }

  /** The overlay's <img>, for tests and measurements. */
  overlayElement(slot: 'a' | 'b'): HTMLImageElement | null {
    return this.overlays[slot]?.getElement() ?? null;
  }

  setOpacity(o: number): void {
    this.opacity = o;
    this.overlays.a?.setOpacity(o);
    this.overlays.b?.setOpacity(o);
  }

  /** Show overlay B right of `fraction` of the width (null: no swipe, B hidden). */
  setSwipe(fraction: number | null): void {
    this.swipe = fraction;
    this.updateClip();
  }

  private updateClip(): void {
    const pane = this.map.getPane('swipeB');
    if (!pane) return;
    if (this.swipe === null || !this.overlays.b) {
      pane.style.display = this.swipe === null ? 'none' : '';
      this.divider.hidden = true;
      return;
    }
    pane.style.display = '';
    const size = this.map.getSize();
    const nw = this.map.containerPointToLayerPoint([0, 0]);
    const se = this.map.containerPointToLayerPoint(size);
    const x = nw.x + size.x * this.swipe;
    pane.style.clip = `rect(${nw.y}px, ${se.x}px, ${se.y}px, ${x}px)`;
    this.divider.hidden = false;
    this.divider.style.left = `${Math.round(size.x * this.swipe)}px`;
  }

  setSensors(points: MarkerSpec[]): void {
    this.fillLayer(this.markers, points, 'sensors', 6, 'sensor-marker');
  }

  setExtraMarkers(points: MarkerSpec[]): void {
    this.fillLayer(this.extra, points, 'sensors', 7, 'residual-marker');
  }

  /** Markers by layer, so that a recolouring (new ramp, new run) restyles them instead of rebuilding them. */
  private built = new Map<L.LayerGroup, { key: string; markers: Array<{ m: L.CircleMarker; spec: { current: MarkerSpec } }> }>();

  private fillLayer(layer: L.LayerGroup, points: MarkerSpec[], pane: string, defRadius: number, className: string): void {
    const shown = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lng));
    const key = shown.map((p) => `${p.id ?? ''}@${p.lat},${p.lng}`).join('|');
    const prev = this.built.get(layer);
    if (prev && prev.key === key) {
      shown.forEach((p, i) => {
        const { m, spec } = prev.markers[i];
        spec.current = p;
        m.setStyle({ fillColor: p.colour });
        m.setRadius(p.radius ?? defRadius);
        m.setTooltipContent(textElement(p.title));
      });
      return;
    }
    layer.clearLayers();
    const renderer = shown.length > 3000 ? this.canvasRenderer : this.svgRenderer;
    const markers: Array<{ m: L.CircleMarker; spec: { current: MarkerSpec } }> = [];
    for (const p of shown) {
      const m = L.circleMarker([p.lat, p.lng], {
        radius: p.radius ?? defRadius,
        color: '#1b1b1b',
        weight: 1,
        fillColor: p.colour,
        fillOpacity: 0.95,
        pane,
        renderer,
        className,
      });
      const spec = { current: p };
      m.bindTooltip(textElement(p.title));
      if (p.popup) {
        // one holder per marker, filled each time the popup opens (the content is fetched then)
        const holder = document.createElement('div');
        m.bindPopup(holder, { minWidth: 320, maxWidth: 420 });
        let opened = 0;
        m.on('popupopen', () => {
          const build = spec.current.popup;
          if (!build) return;
          const my = ++opened;
          holder.className = 'popup-loading';
          holder.textContent = 'loading…';
          Promise.resolve(build()).then(
            (el) => {
              if (my !== opened) return;
              holder.className = '';
              holder.replaceChildren(el);
              m.getPopup()?.update();
            },
            (err) => {
              if (my === opened) holder.textContent = String((err as Error)?.message ?? err);
            },
          );
        });
      }
      layer.addLayer(m);
      markers.push({ m, spec });
    }
    this.built.set(layer, { key, markers });
  }

  private pendingFit: L.LatLngBounds | null = null;

  fit(bounds: [[number, number], [number, number]]): void {
    const b = L.latLngBounds(bounds);
    if (!b.isValid()) return;
    // a hidden map has no size: fitting now would zoom in all the way; fit when it is shown
    const size = this.map.getContainer().getBoundingClientRect();
    if (size.width === 0 || size.height === 0) {
      this.pendingFit = b;
      return;
    }
    this.pendingFit = null;
    this.map.fitBounds(b, { padding: [20, 20], animate: false });
  }

  invalidate(): void {
    this.map.invalidateSize();
    if (this.pendingFit) {
      const b = this.pendingFit;
      this.pendingFit = null;
      this.map.fitBounds(b, { padding: [20, 20], animate: false });
    }
    this.updateClip();
  }

  destroy(): void {
    for (const u of [this.urls.a, this.urls.b]) if (u) URL.revokeObjectURL(u);
    this.map.remove();
    this.divider.remove();
  }
}

/** Tooltip content as a text node: sensor names come from users' files and are never parsed as HTML. */
function textElement(s: string): HTMLElement {
  const d = document.createElement('div');
  d.textContent = s;
  return d;
}

function escapeText(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
