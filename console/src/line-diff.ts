/**
 * A line diff for the schemas page: the lines two texts share (a longest common subsequence), and
 * what one removes and the other adds, in order, removals before additions where they meet.
 *
 * The common head and tail are taken off first, so two versions of a schema that differ in a few
 * fields cost a table the size of the changed part only. A changed part too large for the table
 * (more than MAX_CELLS line pairs) is shown as all of it removed and all of it added, and said so.
 */

export type DiffLine = { op: 'same' | 'removed' | 'added'; text: string };

const MAX_CELLS = 4_000_000;

export function lineDiff(before: string, after: string): { lines: DiffLine[]; approximate: boolean } {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const same = (text: string): DiffLine => ({ op: 'same', text });
  const lines: DiffLine[] = a.slice(0, head).map(same);
  const approximate = midA.length * midB.length > MAX_CELLS;
  if (approximate) {
    for (const text of midA) lines.push({ op: 'removed', text });
    for (const text of midB) lines.push({ op: 'added', text });
  } else {
    lines.push(...middleDiff(midA, midB));
  }
  lines.push(...a.slice(a.length - tail).map(same));
  return { lines, approximate };
}

/** The LCS table read forwards: `common[i][j]` is the LCS length of a[i..] and b[j..]. */
function middleDiff(a: string[], b: string[]): DiffLine[] {
  const width = b.length + 1;
  const common = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      common[i * width + j] =
        a[i] === b[j]
          ? (common[(i + 1) * width + j + 1] as number) + 1
          : Math.max(common[(i + 1) * width + j] as number, common[i * width + j + 1] as number);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ op: 'same', text: a[i] as string });
      i += 1;
      j += 1;
    } else if (j >= b.length || (i < a.length && common[(i + 1) * width + j] === common[i * width + j])) {
      // Dropping a[i] keeps the longest common part: a removal, listed before the additions it meets.
      lines.push({ op: 'removed', text: a[i] as string });
      i += 1;
    } else {
      lines.push({ op: 'added', text: b[j] as string });
      j += 1;
    }
  }
  return lines;
}

/** A diff to show: changed lines with `context` unchanged lines around them; longer unchanged runs folded. */
export type ShownLine = DiffLine | { op: 'folded'; count: number };

export function foldUnchanged(lines: DiffLine[], context = 3): ShownLine[] {
  const shown: ShownLine[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]?.op !== 'same') {
      shown.push(lines[i] as DiffLine);
      i += 1;
      continue;
    }
    let end = i;
    while (end < lines.length && lines[end]?.op === 'same') end += 1;
    // Kept: `context` lines after a change and before the next; at the start or end, only the side by a change.
    const keepHead = i === 0 ? 0 : context;
    const keepTail = end === lines.length ? 0 : context;
    if (end - i > keepHead + keepTail + 1) {
      shown.push(...lines.slice(i, i + keepHead));
      shown.push({ op: 'folded', count: end - i - keepHead - keepTail });
      shown.push(...lines.slice(end - keepTail, end));
    } else {
      shown.push(...lines.slice(i, end));
    }
    i = end;
  }
  return shown;
}
