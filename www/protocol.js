// Message vocabulary between the page (<lucent-viewer>) and worker.js, in one place so both sides agree.
//
// page -> worker
//   {type:'load', gen, items:[{path, file?:File, url?:string, bytes?:Uint8Array}]}  replace the study
//                                                                  (new Library); bytes are transferred
//   {type:'render', id, gen, series, slice, center|null, width|null}  null window = the slice's default
//   {type:'thumb', id, gen, series, size}                          middle slice, default window, <= size px
//   {type:'info', id, gen, series, slice}                          sliceInfoJson
//   {type:'volume', id, gen, series, maxBytes, downsample}         build the series' volume (MPR)
//   {type:'mpr', id, gen, series, view:[13 numbers], mode, center, width}   render one MPR pane
//   {type:'measure', id, gen, series, kind, points, plane}          distance/angle/rectangle/ellipse/probe
//   {type:'pano', id, gen, series, arch, view:[7 numbers], mode, center, width}   render the panoramic (arch: JSON
//                                                                  text; view: center_s, center_h, width, height,
//                                                                  pixel_mm, shift_mm, slab_mm)
//   {type:'sections', id, gen, series, arch, params:[9 numbers], mode, center, width}   render the cross-section
//                                                                  strip; the reply adds planes (9 numbers each)
//   {type:'arch', id, gen, ops:[{op, ...}]}                        arch geometry, batched: propose {series, z,
//                                                                  slab}, curve {arch, shift, step}, toWorld {arch,
//                                                                  shift, s, h}, toPano {arch, shift, points},
//                                                                  distance {points, point}; reply {results: [...]}
//   {type:'stats', id}                                             {wasmBytes}: the engine's memory
// worker -> page
//   {type:'ready', version}
//   {type:'progress', gen, read, total, decoded, decodeTotal}
//   {type:'tree', gen, tree, series:[summary], final}              study structure (throttled while loading)
//   {type:'first-image', gen, series}                              first image file is in: show it now
//   {type:'loaded', gen, files, images, errors, notes, series, tree}
//   {type:'reply', id, gen, ok, ...}                               answer to render/thumb/info/volume/mpr/measure/
//                                                                  pano/sections/arch
//   {type:'fatal', message}                                        wasm trap: the worker must be replaced

export const MSG = Object.freeze({
  LOAD: 'load',
  RENDER: 'render',
  THUMB: 'thumb',
  INFO: 'info',
  VOLUME: 'volume',
  MPR: 'mpr',
  MEASURE: 'measure',
  PANO: 'pano',
  SECTIONS: 'sections',
  ARCH: 'arch',
  STATS: 'stats',
  READY: 'ready',
  PROGRESS: 'progress',
  TREE: 'tree',
  FIRST_IMAGE: 'first-image',
  LOADED: 'loaded',
  REPLY: 'reply',
  FATAL: 'fatal',
});

/** Flattens the Patient > Study > Series tree into one row per series, ordered by library index. */
export function flattenTree(tree) {
  const rows = [];
  for (const patient of tree?.patients ?? []) {
    for (const study of patient.studies ?? []) {
      for (const s of study.series ?? []) {
        rows.push({
          index: s.index,
          uid: s.uid,
          number: s.number,
          description: s.description,
          modality: s.modality,
          rows: s.rows,
          columns: s.columns,
          slices: s.slices,
          patient_name: patient.name,
          patient_id: patient.id,
          study_uid: study.uid,
          study_date: study.date,
          study_description: study.description,
        });
      }
    }
  }
  rows.sort((a, b) => a.index - b.index);
  return rows;
}
