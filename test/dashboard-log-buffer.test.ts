import { expect, test } from 'vitest';
import { LogBuffer } from '../dashboard/src/log-buffer.ts';

test('past its cap the buffer drops the oldest lines and moves its start past their bytes', () => {
  const buffer = new LogBuffer(3);
  buffer.reset(['a', 'bb'], 100);
  expect(buffer.append(['ccc', 'é', 'dd'])).toBe(2);
  expect(buffer.lines).toEqual(['ccc', 'é', 'dd']);
  // 'a\n' + 'bb\n' = 5 bytes.
  expect(buffer.start).toBe(105);
  // 'é' is two bytes in UTF-8.
  expect(buffer.append(['x'], 2)).toBe(2);
  expect(buffer.start).toBe(105 + 4 + 3);
});

test('earlier windows go in front; the beginning is byte 0', () => {
  const buffer = new LogBuffer(10);
  buffer.reset(['3', '4'], 4);
  expect(buffer.atBeginning).toBe(false);
  const version = buffer.version;
  buffer.prepend(['1', '2'], 0);
  expect(buffer.lines).toEqual(['1', '2', '3', '4']);
  expect(buffer.atBeginning).toBe(true);
  expect(buffer.version).toBeGreaterThan(version);
});
