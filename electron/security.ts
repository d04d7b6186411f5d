// Security rules of the desktop shell, kept free of Electron imports so they can be unit-tested.
// The page is served from our own privileged scheme (app://emfmap/), so "is this our page" is a URL check.

export const APP_SCHEME = 'app';
export const APP_HOST = 'emfmap';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

/** A URL of our own page (any path under app://emfmap/). */
export function isAppUrl(url: string | null | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** IPC is answered only for frames showing our page (not an iframe or a page navigated elsewhere). */
export function isTrustedSender(frameUrl: string | null | undefined, isMainFrame: boolean): boolean {
  return isMainFrame && isAppUrl(frameUrl);
}

/** Links the page may open in the user's browser (never inside the app): attributions and documentation. */
const EXTERNAL_ALLOWED = [/^https:\/\/leafletjs\.com(\/|$)/, /^https:\/\/(www\.)?openstreetmap\.org\/copyright(\/|$)/, /^https:\/\/github\.com\//];

export function externalLinkAllowed(url: string): boolean {
  return EXTERNAL_ALLOWED.some((r) => r.test(url));
}

/** Navigation of the window: only within our page. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/** Map an app:// request to a file under the renderer's folder, or null (escapes, encoded separators). */
export function appPathToFile(url: string, root: string, sep = '/'): string | null {
  if (!isAppUrl(url)) return null;
  const u = new URL(url);
  let p: string;
  try {
    p = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (p.includes('\0') || p.includes('\\')) return null;
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (parts.some((x) => x === '..')) return null;
  const rel = parts.length === 0 ? ['index.html'] : parts;
  return [root.replace(/[\\/]+$/, ''), ...rel].join(sep);
}
