/** An in-memory stream that records what is written, standing in for stdout/stderr. */
export function memoryStream(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 100, write: (s: string) => chunks.push(s), text: () => chunks.join("") };
}
