// Browser-mode guards: a per-session token, the Host / Origin checks against DNS rebinding and cross-site
// requests, loopback-only binding, and the page's Content-Security-Policy.
//
// Threat model: any web page the user visits can make their browser send requests to 127.0.0.1:PORT, and a
// hostile DNS name can be re-pointed to 127.0.0.1 (DNS rebinding) so the browser treats it as same-origin.
// The service can read and write files by path, so every request must prove it comes from our page:
//   - the token (random per session) is required on every request: API calls carry it in a header (which a
//     cross-site page cannot set without a CORS preflight we never grant); page loads and the event stream,
//     which cannot set headers, carry it in a SameSite=Strict, HttpOnly cookie set when the printed URL is opened;
//   - the Host header must name our loopback address and port (a rebinding attack arrives with its own name);
//   - a present Origin header must be our own origin.

import crypto from 'node:crypto';
import { tileCspSource } from '../service/channels.ts';

/** 32 random bytes, URL-safe base64 (43 characters). */
export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Constant-time comparison (no early exit that would leak how many leading characters matched). */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (LOOPBACK_NAMES.has(h)) return true;
  // the whole 127.0.0.0/8 block is loopback
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The Host header values we accept for a server bound to `bindHost:port`. */
export function allowedHosts(bindHost: string, port: number, extra: string[] = []): Set<string> {
  const names = new Set<string>([bindHost.toLowerCase(), ...extra.map((e) => e.toLowerCase())]);
  if (isLoopbackHost(bindHost)) {
    names.add('127.0.0.1');
    names.add('localhost');
    names.add('[::1]');
  }
  const out = new Set<string>();
  for (const n of names) {
    const name = n.includes(':') && !n.startsWith('[') ? `[${n}]` : n;
    out.add(`${name}:${port}`);
  }
  return out;
}

/** Host header check (DNS-rebinding guard). */
export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>): boolean {
  return typeof hostHeader === 'string' && allowed.has(hostHeader.trim().toLowerCase());
}

/** Origin header check: absent (same-origin GET, or a non-browser client holding the token) or one of ours. */
export function originAllowed(origin: string | undefined, allowed: Set<string>): boolean {
  if (origin === undefined) return true;
  const m = /^http:\/\/([^/]+)$/i.exec(origin.trim());
  return !!m && allowed.has(m[1].toLowerCase());
}

/** Name of the session cookie; per port, because cookies are shared by all ports of a host. */
export function cookieName(port: number): string {
  return `emfmap_token_${port}`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** Bearer token from an Authorization header. */
export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}

/**
 * The renderer's Content-Security-Policy. No inline script, no eval, no remote code; images only from us,
 * data:/blob: URLs (the map overlay is drawn on a canvas) and, when the user configured one, the basemap's
 * tile host. Workers from our own origin (raster colouring runs in a Web Worker).
 */
export function contentSecurityPolicy(opts: { tileUrl: string | null; self?: string } = { tileUrl: null }): string {
  const self = opts.self ?? "'self'";
  const tiles = tileCspSource(opts.tileUrl);
  return [
    `default-src 'none'`,
    `script-src ${self}`,
    `style-src ${self}`,
    // Svelte and Leaflet set element.style from script (allowed); style attributes in markup are not used
    `img-src ${self} data: blob:${tiles ? ' ' + tiles : ''}`,
    `font-src ${self}`,
    `connect-src ${self}`,
    `worker-src ${self} blob:`,
    `manifest-src ${self}`,
    `base-uri 'none'`,
    `form-action 'none'`,
    `frame-ancestors 'none'`,
    `object-src 'none'`,
  ].join('; ');
}

/** Headers every browser-mode response carries. */
export function securityHeaders(csp: string): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  };
}
