//! Library: index of ingested files (Patient > Study > Series > slices) and the
//! operations the page needs. No JS types.

use serde::Serialize;

use crate::decode::{decode_frame, Frame};
use crate::error::Error;
use crate::ingest::{parse, Instance, NonImage, Parsed};
use crate::render::{check_displayable, render_frame_voi, RgbaImage};
use crate::volume::build::{self, BuildOptions, SliceRef, SliceSources};
use crate::volume::{dot, Volume};
use crate::window::{self, Voi, Window};

/// Number of decoded frames kept by a [`Library`].
const CACHE_FRAMES: usize = 8;

/// Per-file ingest/decode report.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct FileReport {
    pub file: String,
    /// "image" | "dicomdir" | "no-pixel-data" | "error"
    pub status: &'static str,
    pub code: Option<&'static str>,
    pub reason: Option<String>,
    pub series: Option<usize>,
}

/// Patient > Study > Series tree.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Tree {
    pub patients: Vec<PatientNode>,
}

#[derive(Serialize, Clone, Debug)]
pub struct PatientNode {
    pub name: String,
    pub id: String,
    pub studies: Vec<StudyNode>,
}

#[derive(Serialize, Clone, Debug)]
pub struct StudyNode {
    pub uid: String,
    pub date: String,
    pub time: String,
    pub description: String,
    pub series: Vec<SeriesNode>,
}

#[derive(Serialize, Clone, Debug)]
pub struct SeriesNode {
    /// Stable key for [`Library`] calls (order of first appearance; never changes).
    pub index: usize,
    pub uid: String,
    pub number: Option<i64>,
    pub description: String,
    pub modality: String,
    pub rows: u32,
    pub columns: u32,
    pub slices: usize,
}

/// Everything about one slice the page shows.
#[derive(Serialize, Clone, Debug)]
pub struct SliceInfo {
    pub file: String,
    pub frame: u32,
    pub instance_number: Option<i64>,
    pub position: Option<[f64; 3]>,
    /// Position along the slice normal (mm), when position and orientation are known.
    pub slice_location: Option<f64>,
    pub orientation: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub rows: u32,
    pub columns: u32,
    pub photometric: String,
    pub modality: String,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub patient_name: String,
    pub patient_id: String,
    pub study_date: String,
    pub study_description: String,
    pub series_description: String,
    pub series_number: Option<i64>,
    pub transfer_syntax: String,
    pub file_window: Option<Window>,
    /// The file's VOI LUTs by their names (LUT Explanation, else "VOI LUT"), in file order: the indices
    /// [`Voi::Lut`] selects. Empty for a series shown from its volume (VOI LUTs are not applied there).
    pub voi_luts: Vec<String>,
    /// The Modality LUT replacing the rescale, when the file has one: its explanation, else its Modality
    /// LUT Type, else "Modality LUT". `rescale_slope`/`rescale_intercept` do not apply then.
    pub modality_lut: Option<String>,
}

/// A VOI as the page uses it: the window (for a VOI LUT, the linear window over the inputs it maps, where
/// a drag starts from), the VOI LUT index when one is shown, and its name.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct VoiChoice {
    pub center: f64,
    pub width: f64,
    /// Index into [`SliceInfo::voi_luts`]; `None` for a linear window.
    pub lut: Option<usize>,
    /// The VOI LUT's name (LUT Explanation, else "VOI LUT"); `None` for a linear window.
    pub label: Option<String>,
}

/// Name shown for an unnamed VOI LUT.
pub const VOI_LUT_LABEL: &str = "VOI LUT";

/// One slice: a frame of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    instance: usize,
    frame: u32,
}

#[derive(Debug)]
struct Series {
    uid: String,
    patient: (String, String),
    study_uid: String,
    slices: Vec<Slice>,
}

/// Index of all files added so far.
#[derive(Default)]
pub struct Library {
    instances: Vec<Instance>,
    /// Report index of each instance.
    instance_report: Vec<usize>,
    series: Vec<Series>,
    report: Vec<FileReport>,
    /// Small LRU of decoded frames, most recent last.
    cache: Vec<(Slice, Frame)>,
    /// Volumes built so far. Once a series has one, its stack view shows the volume's slices (the files'
    /// pixel data went into the volume and was released).
    volumes: Vec<BuiltVolume>,
}

struct BuiltVolume {
    series: usize,
    volume: Volume,
    /// The source slice nearest to each volume slice (file details for the stack view).
    sources: SliceSources,
}

/// Unit normal of an Image Orientation (Patient): row direction x column direction.
pub fn slice_normal(orientation: &[f64; 6]) -> Option<[f64; 3]> {
    let r = [orientation[0], orientation[1], orientation[2]];
    let c = [orientation[3], orientation[4], orientation[5]];
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    (len.is_finite() && len > 1e-6).then(|| [n[0] / len, n[1] / len, n[2] / len])
}

/// A frame for the viewer: decoded, and only if it can be shown truthfully.
fn decode_for_display(instance: &Instance, frame: u32) -> Result<Frame, Error> {
    check_displayable(instance)?;
    decode_frame(instance, frame)
}

impl Library {
    /// Empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one file; never panics on any input. Appends to (and returns) its report.
    pub fn add_file(&mut self, path: &str, bytes: Vec<u8>) -> FileReport {
        let report = match parse(path, bytes) {
            Ok(Parsed::Image(instance)) => self.add_instance(*instance),
            Ok(Parsed::NonImage(NonImage::Dicomdir)) => FileReport {
                file: path.to_string(),
                status: "dicomdir",
                code: None,
                reason: Some(
                    "DICOMDIR (media directory): not an image; add the files it references"
                        .to_string(),
                ),
                series: None,
            },
            Ok(Parsed::NonImage(NonImage::NoPixelData)) => FileReport {
                file: path.to_string(),
                status: "no-pixel-data",
                code: None,
                reason: Some(
                    "DICOM object without pixel data (for example a report or RT plan): not an image"
                        .to_string(),
                ),
                series: None,
            },
            Err(e) => FileReport {
                file: path.to_string(),
                status: "error",
                code: Some(e.code().as_str()),
                reason: Some(e.to_string()),
                series: None,
            },
        };
        self.report.push(report.clone());
        report
    }

    fn add_instance(&mut self, instance: Instance) -> FileReport {
        let series_index = match self.series.iter().position(|s| {
            s.uid == instance.series_uid()
                && !s.uid.is_empty()
                && s.study_uid == instance.study_uid()
        }) {
            Some(i) => i,
            None => {
                self.series.push(Series {
                    uid: instance.series_uid().to_string(),
                    patient: (
                        instance.patient_name().to_string(),
                        instance.patient_id().to_string(),
                    ),
                    study_uid: instance.study_uid().to_string(),
                    slices: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        let index = self.instances.len();
        let frames = instance.frames();
        let file = instance.path().to_string();
        self.instances.push(instance);
        self.instance_report.push(self.report.len());
        let series = &mut self.series[series_index];
        series.slices.extend((0..frames).map(|frame| Slice {
            instance: index,
            frame,
        }));
        self.sort_series(series_index);
        FileReport {
            file,
            status: "image",
            code: None,
            reason: None,
            series: Some(series_index),
        }
    }

    /// Sort a series' slices along the slice normal; fall back to Instance Number, then
    /// file name (then frame number) when positions are missing.
    fn sort_series(&mut self, series: usize) {
        let instances = &self.instances;
        let Some(s) = self.series.get_mut(series) else {
            return;
        };
        let normal = s
            .slices
            .iter()
            .find_map(|sl| instances[sl.instance].image_orientation())
            .and_then(|o| slice_normal(&o));
        let all_positions = s
            .slices
            .iter()
            .all(|sl| instances[sl.instance].image_position(sl.frame).is_some());
        let key = |sl: &Slice| -> Option<f64> {
            let n = normal?;
            let p = instances[sl.instance].image_position(sl.frame)?;
            Some(dot(p, n))
        };
        let use_position = normal.is_some() && all_positions;
        s.slices.sort_by(|a, b| {
            let ia = &instances[a.instance];
            let ib = &instances[b.instance];
            let by_position = if use_position {
                key(a).unwrap_or(0.0).total_cmp(&key(b).unwrap_or(0.0))
            } else {
                std::cmp::Ordering::Equal
            };
            by_position
                .then_with(|| match (ia.instance_number(), ib.instance_number()) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| ia.path().cmp(ib.path()))
                .then_with(|| a.frame.cmp(&b.frame))
                .then_with(|| a.instance.cmp(&b.instance))
        });
    }

    /// Per-file reports, in the order files were added.
    pub fn report(&self) -> &[FileReport] {
        &self.report
    }

    /// Patient > Study > Series tree (in order of first appearance).
    pub fn tree(&self) -> Tree {
        let mut tree = Tree::default();
        for (index, s) in self.series.iter().enumerate() {
            let Some(first) = s.slices.first().map(|sl| &self.instances[sl.instance]) else {
                continue;
            };
            let pi = match tree.patients.iter().position(|p| {
                (p.name.as_str(), p.id.as_str()) == (s.patient.0.as_str(), s.patient.1.as_str())
            }) {
                Some(i) => i,
                None => {
                    tree.patients.push(PatientNode {
                        name: s.patient.0.clone(),
                        id: s.patient.1.clone(),
                        studies: Vec::new(),
                    });
                    tree.patients.len() - 1
                }
            };
            let patient = &mut tree.patients[pi];
            let si = match patient.studies.iter().position(|st| st.uid == s.study_uid) {
                Some(i) => i,
                None => {
                    patient.studies.push(StudyNode {
                        uid: s.study_uid.clone(),
                        date: first.study_date().to_string(),
                        time: first.study_time().to_string(),
                        description: first.study_description().to_string(),
                        series: Vec::new(),
                    });
                    patient.studies.len() - 1
                }
            };
            patient.studies[si].series.push(SeriesNode {
                index,
                uid: s.uid.clone(),
                number: first.series_number(),
                description: first.series_description().to_string(),
                modality: first.modality().to_string(),
                rows: first.rows(),
                columns: first.columns(),
                slices: self.volume(index).map_or(s.slices.len(), |v| v.dims[2]),
            });
        }
        tree
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    fn series_ref(&self, series: usize) -> Result<&Series, Error> {
        self.series.get(series).ok_or_else(|| {
            Error::not_found(format!(
                "series {series} (the library has {} series)",
                self.series.len()
            ))
        })
    }

    fn slice(&self, series: usize, slice: usize) -> Result<Slice, Error> {
        let s = self.series_ref(series)?;
        s.slices.get(slice).copied().ok_or_else(|| {
            Error::not_found(format!(
                "slice {slice} of series {series} (it has {} slices)",
                s.slices.len()
            ))
        })
    }

    /// Number of slices of a series.
    pub fn slice_count(&self, series: usize) -> Result<usize, Error> {
        let n = self.series_ref(series)?.slices.len();
        Ok(self.volume(series).map_or(n, |v| v.dims[2]))
    }

    fn built(&self, series: usize) -> Option<&BuiltVolume> {
        self.volumes.iter().find(|b| b.series == series)
    }

    /// The volume of a series, once [`Library::build_volume`] built it.
    pub fn volume(&self, series: usize) -> Option<&Volume> {
        self.built(series).map(|b| &b.volume)
    }

    /// Builds (once) the volume of a series (see [`crate::volume::build`]). Its files' pixel data is released
    /// as it goes into the volume, and from then on the series' slices are the volume's slices. Images whose
    /// decoding already failed are left out (and said in the volume's warnings).
    pub fn build_volume(
        &mut self,
        series: usize,
        options: &BuildOptions,
    ) -> Result<&Volume, Error> {
        if let Some(at) = self.volumes.iter().position(|b| b.series == series) {
            return Ok(&self.volumes[at].volume);
        }
        let slices: Vec<SliceRef> = self
            .series_ref(series)?
            .slices
            .iter()
            .map(|sl| SliceRef {
                instance: sl.instance,
                frame: sl.frame,
            })
            .collect();
        self.cache.retain(|(sl, _)| {
            !slices
                .iter()
                .any(|r| r.instance == sl.instance && r.frame == sl.frame)
        });
        let failed: Vec<bool> = self
            .instance_report
            .iter()
            .map(|&r| self.report.get(r).is_some_and(|r| r.status == "error"))
            .collect();
        let (volume, sources) = build::build(
            &mut self.instances,
            &slices,
            |i| failed.get(i).copied().unwrap_or(false),
            options,
        )?;
        self.volumes.push(BuiltVolume {
            series,
            volume,
            sources,
        });
        Ok(&self.volumes[self.volumes.len() - 1].volume)
    }

    /// The source slice behind slice `slice` of a series (for a built volume: the nearest source slice).
    fn source_slice(&self, series: usize, slice: usize) -> Result<Slice, Error> {
        match self.built(series) {
            Some(b) => b
                .sources
                .get(slice)
                .map(|r| Slice {
                    instance: r.instance,
                    frame: r.frame,
                })
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "slice {slice} of series {series} (its volume has {} slices)",
                        b.sources.len()
                    ))
                }),
            None => self.slice(series, slice),
        }
    }

    /// Description of one slice.
    pub fn slice_info(&self, series: usize, slice: usize) -> Result<SliceInfo, Error> {
        let mut info = self.slice_info_of(series, self.source_slice(series, slice)?)?;
        if let Some(v) = self.volume(series) {
            // The volume's own slice: its position, grid and (for resampled volumes) modality values.
            let position = v.voxel_to_world([0.0, 0.0, slice as f64]);
            info.slice_location = Some(dot(position, v.slice_normal()));
            info.position = Some(position);
            info.pixel_spacing = Some([v.spacing[1], v.spacing[0]]);
            info.columns = v.dims[0] as u32;
            info.rows = v.dims[1] as u32;
            info.rescale_slope = v.slope;
            info.rescale_intercept = v.intercept;
            info.voi_luts.clear();
        }
        Ok(info)
    }

    fn slice_info_of(&self, series: usize, sl: Slice) -> Result<SliceInfo, Error> {
        let i = &self.instances[sl.instance];
        let position = i.image_position(sl.frame);
        let orientation = i.image_orientation().or_else(|| {
            self.series_ref(series).ok().and_then(|s| {
                s.slices
                    .iter()
                    .find_map(|x| self.instances[x.instance].image_orientation())
            })
        });
        let slice_location = match (position, orientation.as_ref().and_then(slice_normal)) {
            (Some(p), Some(n)) => Some(dot(p, n)),
            _ => None,
        };
        let (slope, intercept) = i.frame_rescale(sl.frame);
        Ok(SliceInfo {
            file: i.path().to_string(),
            frame: sl.frame,
            instance_number: i.instance_number(),
            position,
            slice_location,
            orientation,
            pixel_spacing: i.pixel_spacing(),
            rows: i.rows(),
            columns: i.columns(),
            photometric: i.photometric().to_string(),
            modality: i.modality().to_string(),
            rescale_slope: slope,
            rescale_intercept: intercept,
            patient_name: i.patient_name().to_string(),
            patient_id: i.patient_id().to_string(),
            study_date: i.study_date().to_string(),
            study_description: i.study_description().to_string(),
            series_description: i.series_description().to_string(),
            series_number: i.series_number(),
            transfer_syntax: i.transfer_syntax().to_string(),
            file_window: i.frame_window(sl.frame),
            voi_luts: i
                .voi_luts()
                .iter()
                .map(|l| l.label(VOI_LUT_LABEL))
                .collect(),
            modality_lut: i.modality_lut().map(|l| {
                if !l.explanation.is_empty() {
                    l.explanation.clone()
                } else if !l.lut_type.is_empty() {
                    l.lut_type.clone()
                } else {
                    "Modality LUT".to_string()
                }
            }),
        })
    }

    /// Decoded frame of a slice, through the small cache.
    fn frame(&mut self, sl: Slice) -> Result<usize, Error> {
        if let Some(pos) = self.cache.iter().position(|(k, _)| *k == sl) {
            let entry = self.cache.remove(pos);
            self.cache.push(entry);
            return Ok(self.cache.len() - 1);
        }
        let frame = decode_for_display(&self.instances[sl.instance], sl.frame)?;
        if self.cache.len() >= CACHE_FRAMES {
            self.cache.remove(0);
        }
        self.cache.push((sl, frame));
        Ok(self.cache.len() - 1)
    }

    /// Default window of a slice (file's first window, else the data range).
    pub fn default_window(&mut self, series: usize, slice: usize) -> Result<Window, Error> {
        if let Some(v) = self.volume(series) {
            let sl = self.source_slice(series, slice)?;
            return Ok(self.instances[sl.instance]
                .frame_window(sl.frame)
                .filter(Window::is_valid)
                .unwrap_or(v.default_window));
        }
        let sl = self.slice(series, slice)?;
        let at = self.frame(sl)?;
        Ok(window::default_window(
            &self.instances[sl.instance],
            &self.cache[at].1,
        ))
    }

    /// The VOI a slice is first shown with ([`window::default_voi`]: the file's window, else its first VOI
    /// LUT, else the data range). A series shown from its volume: its window (VOI LUTs are not applied to
    /// volumes).
    pub fn default_voi(&mut self, series: usize, slice: usize) -> Result<Voi, Error> {
        if self.volume(series).is_some() {
            return self.default_window(series, slice).map(Voi::Window);
        }
        let sl = self.slice(series, slice)?;
        let at = self.frame(sl)?;
        Ok(window::default_voi(
            &self.instances[sl.instance],
            &self.cache[at].1,
        ))
    }

    /// VOI LUT `lut` of a slice, or its default VOI when `None`, as the page shows it ([`VoiChoice`]).
    pub fn voi_choice(
        &mut self,
        series: usize,
        slice: usize,
        lut: Option<usize>,
    ) -> Result<VoiChoice, Error> {
        let voi = match lut {
            Some(i) => Voi::Lut(i),
            None => self.default_voi(series, slice)?,
        };
        match voi {
            Voi::Window(w) => Ok(VoiChoice {
                center: w.center,
                width: w.width,
                lut: None,
                label: None,
            }),
            Voi::Lut(i) => {
                let sl = self.source_slice(series, slice)?;
                let inst = &self.instances[sl.instance];
                let (Some(l), Some(w)) = (inst.voi_luts().get(i), window::lut_window(inst, i))
                else {
                    return Err(Error::invalid_argument(format!(
                        "VOI LUT {i} (the slice has {})",
                        inst.voi_luts().len()
                    )));
                };
                Ok(VoiChoice {
                    center: w.center,
                    width: w.width,
                    lut: Some(i),
                    label: Some(l.label(VOI_LUT_LABEL)),
                })
            }
        }
    }

    /// Render a slice into `out` (reused; resized only when the size changes).
    pub fn render(
        &mut self,
        series: usize,
        slice: usize,
        window: Window,
        out: &mut RgbaImage,
    ) -> Result<(), Error> {
        self.render_voi(series, slice, Voi::Window(window), out)
    }

    /// [`Library::render`] with any VOI (a window or one of the slice's VOI LUTs). A series shown from its
    /// volume shows a VOI LUT request with the volume's default window.
    pub fn render_voi(
        &mut self,
        series: usize,
        slice: usize,
        voi: Voi,
        out: &mut RgbaImage,
    ) -> Result<(), Error> {
        if let Some(v) = self.volume(series) {
            let window = match voi {
                Voi::Window(w) => w,
                Voi::Lut(_) => v.default_window,
            };
            return crate::mpr::render_slice(v, slice, window, out);
        }
        let sl = self.slice(series, slice)?;
        let at = self.frame(sl)?;
        render_frame_voi(&self.instances[sl.instance], &self.cache[at].1, voi, out)
    }

    /// Decode every slice of a series once; record decode errors in the report
    /// (status "error"). Returns the number of slices that decoded.
    pub fn decode_series(&mut self, series: usize) -> Result<usize, Error> {
        self.decode_slices(series, 0, usize::MAX)
    }

    /// Decode slices `start..start + count` of a series (clamped to its length), as
    /// [`Library::decode_series`] does, so that a caller can report progress between chunks.
    pub fn decode_slices(
        &mut self,
        series: usize,
        start: usize,
        count: usize,
    ) -> Result<usize, Error> {
        if let Some(v) = self.volume(series) {
            return Ok(start
                .saturating_add(count)
                .min(v.dims[2])
                .saturating_sub(start));
        }
        let all = &self.series_ref(series)?.slices;
        let end = start.saturating_add(count).min(all.len());
        let slices = all.get(start..end).unwrap_or_default().to_vec();
        let mut ok = 0usize;
        for sl in slices {
            if self.cache.iter().any(|(k, _)| *k == sl) {
                ok += 1;
                continue;
            }
            match decode_for_display(&self.instances[sl.instance], sl.frame) {
                Ok(_) => ok += 1,
                Err(e) => {
                    if let Some(r) = self
                        .instance_report
                        .get(sl.instance)
                        .and_then(|&ri| self.report.get_mut(ri))
                    {
                        if r.status != "error" {
                            r.status = "error";
                            r.code = Some(e.code().as_str());
                            r.reason = Some(e.to_string());
                        }
                    }
                }
            }
        }
        Ok(ok)
    }

    /// The instance behind a slice (for callers needing header details).
    pub fn instance(&self, series: usize, slice: usize) -> Result<&Instance, Error> {
        let sl = self.source_slice(series, slice)?;
        Ok(&self.instances[sl.instance])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::ingest::testutil::Slice as TestSlice;

    /// Deterministic shuffle (no clock, no rand).
    fn shuffled(n: usize, seed: u64) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        let mut x = seed;
        for i in (1..n).rev() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let j = (x >> 33) as usize % (i + 1);
            v.swap(i, j);
        }
        v
    }

    fn z_positions(lib: &Library, series: usize) -> Vec<f64> {
        (0..lib.slice_count(series).expect("series"))
            .map(|k| {
                lib.slice_info(series, k)
                    .expect("slice")
                    .position
                    .expect("pos")[2]
            })
            .collect()
    }

    #[test]
    fn slices_sort_by_position_not_by_file_name_or_instance_number() {
        let n = 12;
        // file names in a shuffled order, instance numbers reversed, arrival shuffled
        let names = shuffled(n, 7);
        let mut lib = Library::new();
        for (step, k) in shuffled(n, 99).into_iter().enumerate() {
            let s = TestSlice {
                instance_number: Some((n - k) as i32),
                position: Some([10.0, -5.0, -40.0 + 2.5 * k as f64]),
                ..TestSlice::default()
            };
            let r = lib.add_file(&format!("IM{:04}.dcm", names[k]), s.file());
            assert_eq!(r.status, "image", "{r:?}");
            assert_eq!(r.series, Some(0));
            // order is correct after every arrival
            let z = z_positions(&lib, 0);
            assert_eq!(z.len(), step + 1);
            assert!(z.windows(2).all(|w| w[0] < w[1]), "not sorted: {z:?}");
        }
        let z = z_positions(&lib, 0);
        let expected: Vec<f64> = (0..n).map(|k| -40.0 + 2.5 * k as f64).collect();
        assert_eq!(z, expected);
        let info = lib.slice_info(0, 3).expect("slice");
        assert_eq!(info.slice_location, Some(-32.5));
        assert_eq!(info.instance_number, Some((n - 3) as i64));
        assert_eq!(lib.series_count(), 1);
    }

    #[test]
    fn oblique_slices_sort_along_the_normal() {
        // rows along x, columns along (0, cos, -sin): normal = (0, sin, cos)
        let (s, c) = (0.3f64.sin(), 0.3f64.cos());
        let orientation = [1.0, 0.0, 0.0, 0.0, c, -s];
        let normal = [0.0, s, c];
        let mut lib = Library::new();
        for (i, d) in [3.0, -1.0, 7.5, 0.0, 2.0].iter().enumerate() {
            // positions along the normal, plus an in-plane offset that must not matter
            let p = [5.0, d * normal[1] + 4.0 * c, d * normal[2] - 4.0 * s];
            let sl = TestSlice {
                instance_number: Some(i as i32),
                position: Some(p),
                orientation,
                ..TestSlice::default()
            };
            lib.add_file(&format!("f{i}"), sl.file());
        }
        let locs: Vec<f64> = (0..5)
            .map(|k| {
                lib.slice_info(0, k)
                    .expect("slice")
                    .slice_location
                    .expect("loc")
            })
            .collect();
        let expected = [-1.0, 0.0, 2.0, 3.0, 7.5];
        for (a, b) in locs.iter().zip(expected) {
            assert!((a - b).abs() < 1e-9, "{locs:?}");
        }
    }

    #[test]
    fn without_positions_fall_back_to_instance_number_then_file_name() {
        let mut lib = Library::new();
        for (name, num) in [
            ("c", Some(2)),
            ("a", Some(3)),
            ("b", Some(1)),
            ("e", None),
            ("d", None),
        ] {
            let s = TestSlice {
                instance_number: num,
                position: None,
                ..TestSlice::default()
            };
            lib.add_file(name, s.file());
        }
        let files: Vec<String> = (0..5)
            .map(|k| lib.slice_info(0, k).expect("slice").file)
            .collect();
        assert_eq!(files, ["b", "c", "a", "d", "e"]);
        assert_eq!(lib.slice_info(0, 0).expect("slice").slice_location, None);
    }

    #[test]
    fn series_and_tree() {
        let mut lib = Library::new();
        lib.add_file("a1", TestSlice::default().file());
        lib.add_file(
            "b1",
            TestSlice {
                series_uid: "1.2.3.200",
                ..TestSlice::default()
            }
            .file(),
        );
        lib.add_file("dir", b"not dicom at all, just text".to_vec());
        lib.add_file(
            "a2",
            TestSlice {
                instance_number: Some(2),
                position: Some([0.0, 0.0, 1.0]),
                ..TestSlice::default()
            }
            .file(),
        );
        assert_eq!(lib.series_count(), 2);
        let tree = lib.tree();
        assert_eq!(tree.patients.len(), 1);
        assert_eq!(tree.patients[0].name, "TEST^PATIENT");
        let series = &tree.patients[0].studies[0].series;
        assert_eq!(series.len(), 2);
        assert_eq!((series[0].index, series[0].slices), (0, 2));
        assert_eq!((series[1].index, series[1].slices), (1, 1));
        let json = serde_json::to_value(&tree).expect("json");
        assert_eq!(
            json["patients"][0]["studies"][0]["series"][1]["uid"],
            "1.2.3.200"
        );
        let statuses: Vec<&str> = lib.report().iter().map(|r| r.status).collect();
        assert_eq!(statuses, ["image", "image", "error", "image"]);
        assert_eq!(lib.report()[2].code, Some("not-dicom"));
        assert!(lib.report()[2]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("dir"));
        // bad indices
        assert_eq!(lib.slice_count(5).unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(
            lib.slice_info(0, 9).unwrap_err().code(),
            ErrorCode::NotFound
        );
        let mut img = RgbaImage::default();
        let w = Window {
            center: 0.0,
            width: 1.0,
        };
        assert_eq!(
            lib.render(3, 0, w, &mut img).unwrap_err().code(),
            ErrorCode::NotFound
        );
    }

    #[test]
    fn default_window_is_the_files_first_else_the_data_range() {
        let mut lib = Library::new();
        lib.add_file(
            "w",
            TestSlice {
                window: Some((40.0, 400.0)),
                rescale: (1.0, -1024.0),
                ..TestSlice::default()
            }
            .file(),
        );
        lib.add_file(
            "r",
            TestSlice {
                series_uid: "9.9",
                pixels: vec![0, 1000, 2000, 3000],
                rescale: (2.0, -1024.0),
                ..TestSlice::default()
            }
            .file(),
        );
        assert_eq!(
            lib.default_window(0, 0).expect("w"),
            Window {
                center: 40.0,
                width: 400.0
            }
        );
        // modality range: -1024 .. 4976
        assert_eq!(
            lib.default_window(1, 0).expect("r"),
            Window::from_range(-1024.0, 4976.0)
        );
        let info = lib.slice_info(1, 0).expect("info");
        assert_eq!(info.file_window, None);
        assert_eq!((info.rescale_slope, info.rescale_intercept), (2.0, -1024.0));
    }

    #[test]
    fn render_applies_rescale_window_and_monochrome1_inversion() {
        let pixels = vec![-1000, 0, 40, 500];
        let window = Window {
            center: 40.0,
            width: 400.0,
        };
        let mut img = RgbaImage::default();
        let mut lib = Library::new();
        lib.add_file(
            "m2",
            TestSlice {
                pixels: pixels.clone(),
                ..TestSlice::default()
            }
            .file(),
        );
        lib.render(0, 0, window, &mut img).expect("render");
        assert_eq!((img.width, img.height, img.data.len()), (2, 2, 16));
        let grey: Vec<u8> = img.data.chunks(4).map(|p| p[0]).collect();
        assert_eq!(grey, [0, 102, 128, 255]);
        assert!(img
            .data
            .chunks(4)
            .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));
        let ptr = img.data.as_ptr();

        lib.add_file(
            "m1",
            TestSlice {
                series_uid: "1.2.3.101",
                pixels: pixels.clone(),
                photometric: "MONOCHROME1",
                ..TestSlice::default()
            }
            .file(),
        );
        lib.render(1, 0, window, &mut img).expect("render");
        let grey: Vec<u8> = img.data.chunks(4).map(|p| p[0]).collect();
        assert_eq!(grey, [255, 153, 127, 0]);
        // same size: the buffer was reused, not reallocated
        assert_eq!(img.data.as_ptr(), ptr);

        // rescale: intercept -1024 moves stored 1064 to 40 HU (centre grey)
        lib.add_file(
            "ct",
            TestSlice {
                series_uid: "1.2.3.102",
                pixels: vec![1064, 1064, 0, 4000],
                rescale: (1.0, -1024.0),
                ..TestSlice::default()
            }
            .file(),
        );
        lib.render(2, 0, window, &mut img).expect("render");
        let grey: Vec<u8> = img.data.chunks(4).map(|p| p[0]).collect();
        assert_eq!(grey, [128, 128, 0, 255]);
    }

    #[test]
    fn decode_series_records_errors_in_the_report() {
        let mut lib = Library::new();
        lib.add_file("ok", TestSlice::default().file());
        // a JPEG transfer syntax with garbage fragments: parses, fails to decode
        let mut bad = TestSlice {
            instance_number: Some(2),
            position: Some([0.0, 0.0, 5.0]),
            ..TestSlice::default()
        }
        .ds()
        .without((0x7FE0, 0x0010))
        .part10("1.2.840.10008.1.2.4.50");
        bad.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        bad.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        bad.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 1, 2, 3, 4]);
        bad.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let r = lib.add_file("bad", bad);
        assert_eq!(r.status, "image");
        assert_eq!(lib.decode_series(0).expect("series"), 1);
        let r = &lib.report()[1];
        assert_eq!((r.status, r.code), ("error", Some("corrupt-pixel-data")));
        assert!(r.reason.as_deref().unwrap_or("").contains("bad"));
        assert_eq!(
            lib.decode_series(7).unwrap_err().code(),
            ErrorCode::NotFound
        );
        // In chunks: the same count, and the bad slice (second along z) is found in the second chunk.
        assert_eq!(lib.decode_slices(0, 0, 1).expect("chunk"), 1);
        assert_eq!(lib.decode_slices(0, 1, 1).expect("chunk"), 0);
        assert_eq!(lib.decode_slices(0, 0, usize::MAX).expect("all"), 1);
        assert_eq!(lib.decode_slices(0, 5, 3).expect("past the end"), 0);
    }

    #[test]
    fn palette_colour_without_a_palette_is_an_error_not_grey() {
        let mut lib = Library::new();
        let r = lib.add_file(
            "pal",
            TestSlice {
                photometric: "PALETTE COLOR",
                ..TestSlice::default()
            }
            .file(),
        );
        assert_eq!(r.status, "image");
        let mut img = RgbaImage::default();
        let window = Window {
            center: 0.0,
            width: 100.0,
        };
        let e = lib.render(0, 0, window, &mut img).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedPixelFormat);
        assert_eq!(e.file(), Some("pal"));
        // Decoding for the viewer says so too, so a slice that decodes always renders.
        assert_eq!(lib.decode_series(0).expect("series"), 0);
        let r = &lib.report()[0];
        assert_eq!(
            (r.status, r.code),
            ("error", Some("unsupported-pixel-format"))
        );
    }

    #[test]
    fn cache_is_bounded() {
        let mut lib = Library::new();
        for k in 0..20 {
            lib.add_file(
                &format!("s{k}"),
                TestSlice {
                    position: Some([0.0, 0.0, k as f64]),
                    ..TestSlice::default()
                }
                .file(),
            );
        }
        let mut img = RgbaImage::default();
        let w = Window {
            center: 0.0,
            width: 100.0,
        };
        for k in 0..20 {
            lib.render(0, k, w, &mut img).expect("render");
        }
        assert!(lib.cache.len() <= CACHE_FRAMES);
    }
}
