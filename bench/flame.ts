/**
 * A flame graph of a CPU profile's call tree (bench/profile.ts) as a self-contained SVG: one box per
 * function at a place in the tree, callers below callees, a box's width its share of the samples
 * (its own and its callees'), siblings widest first. Hovering a box shows the function, its file and
 * line, and its samples. Colours say the area: Node internals and native code grey-blue, lambdas/ orange,
 * client/ green, node_modules purple, bench/ yellow, GC/idle/program light grey.
 */
import { escapeXml } from './chart.ts';
import type { FrameNode } from './profile.ts';

export interface FlameBox {
  node: FrameNode;
  /** 0 for the root, the bottom row. */
  depth: number;
  x: number;
  width: number;
}

const WIDTH = 1200;
const PAD = 10;
const ROW = 17;
const HEADER = 48;
/** Boxes narrower than this (pixels) are left out with their callees, to keep the file small. */
const MIN_WIDTH = 0.3;

/** Every box wide enough to draw: widths proportional to `total` samples over the drawing's width. */
export function flameLayout(tree: FrameNode, width = WIDTH - 2 * PAD): FlameBox[] {
  const boxes: FlameBox[] = [];
  const scale = tree.total === 0 ? 0 : width / tree.total;
  const place = (node: FrameNode, depth: number, x: number) => {
    const boxWidth = node.total * scale;
    if (boxWidth < MIN_WIDTH) return;
    boxes.push({ node, depth, x, width: boxWidth });
    let at = x + node.self * scale;
    for (const child of node.children) {
      place(child, depth + 1, at);
      at += child.total * scale;
    }
  };
  place(tree, 0, 0);
  return boxes;
}

const PALETTE: { test: (area: string) => boolean; hue: [number, number]; sat: number; light: number }[] = [
  { test: (a) => a.startsWith('lambdas'), hue: [15, 40], sat: 85, light: 62 },
  { test: (a) => a.startsWith('client'), hue: [95, 140], sat: 50, light: 58 },
  { test: (a) => a.startsWith('node_modules'), hue: [265, 295], sat: 45, light: 70 },
  { test: (a) => a === 'node:internal' || a === 'native', hue: [200, 220], sat: 20, light: 72 },
  { test: (a) => a === 'GC' || a === 'idle/program', hue: [0, 0], sat: 0, light: 86 },
];
const OTHER = { hue: [48, 58] as [number, number], sat: 80, light: 62 };

/** A stable colour per function within its area's range. */
export function colourOf(node: Pick<FrameNode, 'name' | 'area'>): string {
  const range = PALETTE.find((entry) => entry.test(node.area)) ?? OTHER;
  let hash = 0;
  for (const char of node.name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  const [low, high] = range.hue;
  return `hsl(${low + (hash % (high - low + 1))}, ${range.sat}%, ${range.light}%)`;
}

/** About the width of one character of 11 px monospace. */
const CHAR_WIDTH = 6.7;

function label(name: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH);
  if (fits < 3) return '';
  return name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
}

const LEGEND: [string, Pick<FrameNode, 'name' | 'area'>][] = [
  ['lambdas/', { name: '', area: 'lambdas' }],
  ['client/', { name: '', area: 'client' }],
  ['node_modules', { name: '', area: 'node_modules' }],
  ['Node internals, native', { name: '', area: 'node:internal' }],
  ['bench/, other', { name: '', area: 'bench' }],
  ['GC, idle, program', { name: '', area: 'GC' }],
];

export function renderFlameGraph(tree: FrameNode, { title }: { title: string }): string {
  const boxes = flameLayout(tree);
  const depth = Math.max(0, ...boxes.map((box) => box.depth));
  const height = HEADER + (depth + 1) * ROW + PAD;
  const bottom = height - PAD;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdfd"/>`,
    `<text x="${PAD}" y="18" font-size="14">${escapeXml(title)}</text>`,
  ];
  let legendX = PAD;
  for (const [text, sample] of LEGEND) {
    out.push(
      `<rect x="${legendX}" y="27" width="10" height="10" fill="${colourOf(sample)}"/>`,
      `<text x="${legendX + 14}" y="36">${escapeXml(text)}</text>`,
    );
    legendX += 24 + text.length * CHAR_WIDTH;
  }
  const percent = (samples: number) => (tree.total === 0 ? 0 : (samples / tree.total) * 100).toFixed(2);
  for (const box of boxes) {
    const { node } = box;
    const x = (PAD + box.x).toFixed(1);
    const y = bottom - (box.depth + 1) * ROW;
    const where = node.location === '' ? node.area : node.location;
    const tip = `${node.name} (${where}): ${node.total} samples, ${percent(node.total)}%; self ${node.self}, ${percent(node.self)}%`;
    const text = label(node.name, box.width);
    out.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${x}" y="${y}" width="${box.width.toFixed(1)}" height="${ROW - 1}" rx="2" fill="${colourOf(node)}"/>${
        text === '' ? '' : `<text x="${(PAD + box.x + 3).toFixed(1)}" y="${y + 12}">${escapeXml(text)}</text>`
      }</g>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
