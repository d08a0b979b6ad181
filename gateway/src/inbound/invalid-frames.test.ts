import { describe, expect, it } from 'vitest';
import { recordInvalidFrame } from './invalid-frames.js';
import { newSocketData } from '../transport/socket-data.js';

describe('recordInvalidFrame', () => {
  it('trips on the max-th invalid frame within the window and resets after it', () => {
    const d = newSocketData('u', 'c', 0);
    for (let i = 1; i < 3; i++) expect(recordInvalidFrame(d, 1000, 3, 60_000)).toBe(false);
    expect(recordInvalidFrame(d, 1000, 3, 60_000)).toBe(true);
    expect(recordInvalidFrame(d, 62_000, 3, 60_000)).toBe(false);
  });
});
