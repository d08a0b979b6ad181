/**
 * UTF-8 length of a string as an encoder writes it (a lone surrogate becomes the 3-byte U+FFFD),
 * without Buffer or TextEncoder so the contract runs anywhere and allocates nothing.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Whether `text` takes more than `max` UTF-8 bytes; decided from its length alone when that settles it. */
export function exceedsUtf8Bytes(text: string, max: number): boolean {
  if (text.length > max) return true; // every UTF-16 unit takes at least one byte
  if (text.length * 3 <= max) return false; // and at most three
  return utf8ByteLength(text) > max;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
