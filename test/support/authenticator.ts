// An authenticator app's view, independent of our own TOTP code: decode the QR code
// PNG, read the otpauth URI, and compute codes with the otpauth library directly.
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import * as OTPAuth from 'otpauth';

// jsqr is CommonJS with an ES-style default in its types; take whichever form loads.
type DecodeQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR: DecodeQr = ((jsQRModule as unknown as { default?: DecodeQr }).default ?? jsQRModule) as unknown as DecodeQr;

export function readQrCode(dataUrl: string): string {
  const match = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
  if (!match) throw new Error('not a PNG data URI');
  const png = PNG.sync.read(Buffer.from(match[1]!, 'base64'));
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!decoded) throw new Error('no QR code found in the PNG');
  return decoded.data;
}

export class Authenticator {
  readonly totp: OTPAuth.TOTP;
  constructor(readonly uri: string) {
    const parsed = OTPAuth.URI.parse(uri);
    if (!(parsed instanceof OTPAuth.TOTP)) throw new Error('not a TOTP URI');
    this.totp = parsed;
  }

  static fromQrCode(dataUrl: string): Authenticator {
    return new Authenticator(readQrCode(dataUrl));
  }

  /** The code shown at `timeInMilliseconds`, optionally `steps` periods away. */
  code(timeInMilliseconds: number, steps = 0): string {
    return this.totp.generate({ timestamp: timeInMilliseconds + steps * this.totp.period * 1000 });
  }
}
