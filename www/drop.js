// Turning a drop into a flat file list. Dropped folders only expose their contents through the (old, callback
// based) FileSystemEntry API; DataTransfer.files would list a folder as a single useless File.

/**
 * @param {DataTransfer} dataTransfer
 * @returns {Promise<Array<{file: File, path: string}>>}
 */
export async function filesFromDataTransfer(dataTransfer) {
  // Entries must be taken synchronously, inside the drop event: the DataTransfer is emptied afterwards.
  const entries = [];
  const plain = [];
  for (const item of dataTransfer.items ?? []) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) plain.push({ file, path: file.name });
    }
  }
  if (entries.length === 0 && plain.length === 0) {
    for (const file of dataTransfer.files ?? []) plain.push({ file, path: file.name });
  }
  const out = [...plain];
  await Promise.all(entries.map((entry) => walk(entry, out)));
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

async function walk(entry, out) {
  if (entry.isFile) {
    try {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, '') || file.name });
    } catch {
      // Unreadable (permissions, vanished): keep the name so the problems list can say so.
      out.push({ file: null, path: entry.fullPath.replace(/^\//, '') });
    }
    return;
  }
  if (!entry.isDirectory) return;
  const reader = entry.createReader();
  // readEntries returns at most ~100 entries per call: keep calling until it returns an empty batch.
  for (;;) {
    let batch;
    try {
      batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    } catch {
      return;
    }
    if (batch.length === 0) return;
    await Promise.all(batch.map((child) => walk(child, out)));
  }
}
