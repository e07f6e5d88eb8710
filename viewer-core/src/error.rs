//! Typed errors with stable machine codes.

use std::fmt;

/// Stable machine-readable error code (kebab-case via [`ErrorCode::as_str`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    NotDicom,
    Truncated,
    Malformed,
    UnsupportedTransferSyntax,
    UnsupportedPixelFormat,
    CorruptPixelData,
    LimitExceeded,
    NoPixelData,
    NotFound,
    InvalidArgument,
}

impl ErrorCode {
    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotDicom => "not-dicom",
            ErrorCode::Truncated => "truncated",
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnsupportedTransferSyntax => "unsupported-transfer-syntax",
            ErrorCode::UnsupportedPixelFormat => "unsupported-pixel-format",
            ErrorCode::CorruptPixelData => "corrupt-pixel-data",
            ErrorCode::LimitExceeded => "limit-exceeded",
            ErrorCode::NoPixelData => "no-pixel-data",
            ErrorCode::NotFound => "not-found",
            ErrorCode::InvalidArgument => "invalid-argument",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
enum Kind {
    NotDicom(String),
    Truncated(String),
    Malformed(String),
    UnsupportedTransferSyntax {
        uid: String,
        name: Option<&'static str>,
    },
    UnsupportedPixelFormat(String),
    CorruptPixelData(String),
    LimitExceeded(String),
    NoPixelData(String),
    NotFound(String),
    InvalidArgument(String),
}

/// Error from viewer-core: what went wrong and, when known, in which file.
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
    file: Option<String>,
}

impl Error {
    fn new(kind: Kind) -> Self {
        Error { kind, file: None }
    }

    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match &self.kind {
            Kind::NotDicom(_) => ErrorCode::NotDicom,
            Kind::Truncated(_) => ErrorCode::Truncated,
            Kind::Malformed(_) => ErrorCode::Malformed,
            Kind::UnsupportedTransferSyntax { .. } => ErrorCode::UnsupportedTransferSyntax,
            Kind::UnsupportedPixelFormat(_) => ErrorCode::UnsupportedPixelFormat,
            Kind::CorruptPixelData(_) => ErrorCode::CorruptPixelData,
            Kind::LimitExceeded(_) => ErrorCode::LimitExceeded,
            Kind::NoPixelData(_) => ErrorCode::NoPixelData,
            Kind::NotFound(_) => ErrorCode::NotFound,
            Kind::InvalidArgument(_) => ErrorCode::InvalidArgument,
        }
    }

    /// The file the error is about, when known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The reason without the file name (a short phrase).
    pub fn reason(&self) -> String {
        match &self.kind {
            Kind::NotDicom(s) => format!("is not a DICOM file ({s})"),
            Kind::Truncated(s) => format!("is truncated ({s})"),
            Kind::Malformed(s) => format!("is malformed ({s})"),
            Kind::UnsupportedTransferSyntax { uid, name } => match name {
                Some(n) => format!("uses transfer syntax {n} ({uid}), which is not supported yet"),
                None => format!("uses transfer syntax {uid}, which is not supported"),
            },
            Kind::UnsupportedPixelFormat(s) => format!("has an unsupported pixel format ({s})"),
            Kind::CorruptPixelData(s) => format!("has corrupt pixel data ({s})"),
            Kind::LimitExceeded(s) => format!("exceeds a safety limit ({s})"),
            Kind::NoPixelData(s) => format!("contains no pixel data ({s})"),
            Kind::NotFound(s) => format!("not found: {s}"),
            Kind::InvalidArgument(s) => format!("invalid argument: {s}"),
        }
    }

    /// Attach (or replace) the file name.
    pub fn with_file(mut self, file: &str) -> Self {
        self.file = Some(file.to_string());
        self
    }

    pub(crate) fn not_dicom(reason: impl Into<String>) -> Self {
        Self::new(Kind::NotDicom(reason.into()))
    }
    pub(crate) fn truncated(reason: impl Into<String>) -> Self {
        Self::new(Kind::Truncated(reason.into()))
    }
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::new(Kind::Malformed(reason.into()))
    }
    pub(crate) fn unsupported_ts(uid: &str, name: Option<&'static str>) -> Self {
        Self::new(Kind::UnsupportedTransferSyntax {
            uid: uid.to_string(),
            name,
        })
    }
    pub(crate) fn unsupported_pixel_format(reason: impl Into<String>) -> Self {
        Self::new(Kind::UnsupportedPixelFormat(reason.into()))
    }
    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Self::new(Kind::CorruptPixelData(reason.into()))
    }
    pub(crate) fn limit(reason: impl Into<String>) -> Self {
        Self::new(Kind::LimitExceeded(reason.into()))
    }
    pub(crate) fn no_pixel_data(reason: impl Into<String>) -> Self {
        Self::new(Kind::NoPixelData(reason.into()))
    }
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        Self::new(Kind::NotFound(reason.into()))
    }
    /// A caller passed a value the API cannot use (a bad view size, an unknown mode, a non-finite point).
    pub fn invalid_argument(reason: impl Into<String>) -> Self {
        Self::new(Kind::InvalidArgument(reason.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.file) {
            (Kind::NotFound(s), _) => write!(f, "Not found: {s}."),
            (Kind::InvalidArgument(s), _) => write!(f, "Invalid argument: {s}."),
            (_, Some(file)) => write!(f, "File \"{file}\" {}.", self.reason()),
            (_, None) => write!(f, "The input {}.", self.reason()),
        }
    }
}

impl std::error::Error for Error {}
