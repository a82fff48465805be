// Owns flattening transparency onto white (what a photo viewer shows), shared by the Node decoder (decode.ts) and
// the browser app's decoder (web/decode-browser.ts), so both turn an RGBA picture into the same RGB.

/** RGBA -> RGB composited over white: round(c * a / 255 + 255 * (1 - a / 255)). */
export function flattenOnWhite(rgba: Uint8Array): { rgb: Uint8Array; hadAlpha: boolean } {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  let hadAlpha = false;
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3]!;
    if (a !== 255) hadAlpha = true;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round((rgba[i * 4 + c]! * a + 255 * (255 - a)) / 255);
  }
  return { rgb, hadAlpha };
}
