/** The schemas page's line diff (console/src/line-diff.ts). */
import { describe, expect, it } from 'vitest';
import { type DiffLine, foldUnchanged, lineDiff } from '../../console/src/line-diff.ts';

/** A diff as unified-diff-like lines: ' ' same, '-' removed, '+' added. */
const show = (lines: DiffLine[]) =>
  lines.map(({ op, text }) => `${op === 'same' ? ' ' : op === 'removed' ? '-' : '+'}${text}`);

describe('lineDiff', () => {
  it('keeps equal texts as they are', () => {
    expect(lineDiff('a\nb', 'a\nb')).toEqual({
      lines: [
        { op: 'same', text: 'a' },
        { op: 'same', text: 'b' },
      ],
      approximate: false,
    });
  });

  it('shows added, removed and changed lines, keeping the longest common part', () => {
    expect(show(lineDiff('a\nb\nc', 'a\nc').lines)).toEqual([' a', '-b', ' c']);
    expect(show(lineDiff('a\nc', 'a\nb\nc').lines)).toEqual([' a', '+b', ' c']);
    expect(show(lineDiff('a\nb\nc', 'a\nx\nc').lines)).toEqual([' a', '-b', '+x', ' c']);
    expect(show(lineDiff('', 'a').lines)).toEqual(['-', '+a']);
    // Moved lines: one kept, the other removed and added.
    expect(show(lineDiff('x\na\nb\ny', 'x\nb\na\ny').lines)).toEqual([' x', '-a', ' b', '+a', ' y']);
  });

  it('diffs two pretty-printed schemas field by field', () => {
    const v1 = JSON.stringify(
      { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }] },
      null,
      2,
    );
    const v2 = JSON.stringify(
      {
        type: 'record',
        name: 'Order',
        fields: [
          { name: 'id', type: 'long' },
          { name: 'note', type: ['null', 'string'], default: null },
        ],
      },
      null,
      2,
    );
    const changed = lineDiff(v1, v2).lines.filter((line) => line.op !== 'same');
    // Eight lines added, none removed: the old field's closing brace is matched with the new one's.
    expect(show(changed)).toEqual([
      '+    },',
      '+    {',
      '+      "name": "note",',
      '+      "type": [',
      '+        "null",',
      '+        "string"',
      '+      ],',
      '+      "default": null',
    ]);
  });

  it('shows a changed part too large for the table as all removed then all added', () => {
    const before = Array.from({ length: 2100 }, (_, i) => `old ${i}`).join('\n');
    const after = Array.from({ length: 2100 }, (_, i) => `new ${i}`).join('\n');
    const { lines, approximate } = lineDiff(`head\n${before}\ntail`, `head\n${after}\ntail`);
    expect(approximate).toBe(true);
    expect(lines[0]).toEqual({ op: 'same', text: 'head' });
    expect(lines[1]).toEqual({ op: 'removed', text: 'old 0' });
    expect(lines[2101]).toEqual({ op: 'added', text: 'new 0' });
    expect(lines.at(-1)).toEqual({ op: 'same', text: 'tail' });
    expect(lines).toHaveLength(4202);
  });

  it('folds long runs of unchanged lines, keeping three around each change', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const after = before.map((line, i) => (i === 10 ? 'changed' : line));
    const shown = foldUnchanged(lineDiff(before.join('\n'), after.join('\n')).lines);
    expect(shown.map((line) => (line.op === 'folded' ? `… ${line.count}` : line.text))).toEqual([
      '… 7',
      'line 7',
      'line 8',
      'line 9',
      'line 10',
      'changed',
      'line 11',
      'line 12',
      'line 13',
      '… 6',
    ]);
    // A short run between two changes stays whole; nothing changed folds everything.
    const near = foldUnchanged(lineDiff('a\nb\nc\nd', 'x\nb\nc\ny').lines);
    expect(near.filter((line) => line.op === 'folded')).toEqual([]);
    expect(foldUnchanged(lineDiff('a\nb', 'a\nb').lines)).toEqual([{ op: 'folded', count: 2 }]);
  });
});
