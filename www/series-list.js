// The series browser: one button per series with a thumbnail, description, modality and slice count.
import { el } from './dom.js';

export class SeriesList {
  /** @param {(index: number) => void} onSelect  called with the library index of the clicked series */
  constructor(onSelect) {
    this.element = el('nav', 'lv-series');
    this.element.setAttribute('aria-label', 'Series');
    this.element.setAttribute('part', 'series');
    this._list = el('ol', 'lv-series-list');
    this.element.append(this._list);
    this._onSelect = onSelect;
    this._rows = [];
    this._items = [];
  }

  /** Rows from protocol.flattenTree. Rebuilds only when the set of series changed (keeps thumbnails). */
  setRows(rows) {
    const changed = rows.length !== this._rows.length || rows.some((r, i) => r.uid !== this._rows[i]?.uid);
    this._rows = rows;
    if (changed) {
      this._items = rows.map((row) => {
        const button = el('button', 'lv-series-item');
        button.type = 'button';
        button.addEventListener('click', () => this._onSelect(row.index));
        const thumb = el('canvas', 'lv-thumb');
        thumb.width = 1;
        thumb.height = 1;
        const title = el('span', 'lv-series-title');
        const meta = el('span', 'lv-series-meta');
        button.append(thumb, title, meta);
        const li = el('li');
        li.append(button);
        return { li, button, thumb, title, meta, index: row.index };
      });
      this._list.replaceChildren(...this._items.map((i) => i.li));
    }
    rows.forEach((row, i) => {
      const item = this._items[i];
      item.title.textContent = `${row.number != null ? `#${row.number} ` : ''}${row.description || '(no description)'}`;
      const unreadable = row.decoded != null ? row.slices - row.decoded : 0;
      item.meta.textContent = `${row.modality || '—'} · ${row.slices} image${row.slices === 1 ? '' : 's'}`
        + (unreadable === row.slices ? ' · cannot display' : unreadable > 0 ? ` · ${unreadable} unreadable` : '');
      item.meta.classList.toggle('lv-series-warn', unreadable > 0);
      item.button.title = `${item.title.textContent}\n${row.modality} · ${row.slices} images · ${row.columns}×${row.rows}`;
    });
  }

  setActive(index) {
    for (const item of this._items) {
      const active = item.index === index;
      item.button.classList.toggle('lv-active', active);
      item.button.setAttribute('aria-pressed', String(active));
    }
  }

  /** Takes ownership of the bitmap. */
  setThumbnail(index, bitmap) {
    const item = this._items.find((i) => i.index === index);
    if (!item) {
      bitmap.close();
      return;
    }
    item.thumb.width = bitmap.width;
    item.thumb.height = bitmap.height;
    item.thumb.getContext('bitmaprenderer').transferFromImageBitmap(bitmap);
    item.thumb.classList.add('lv-thumb-ready');
  }
}
