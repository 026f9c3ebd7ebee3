/** Stand-in for the deliver function's handler, so the stack synthesizes; the real handler replaces it. */
export async function handler(): Promise<never> {
  throw new Error('not built yet');
}
