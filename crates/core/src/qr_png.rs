//! QR codes as PNG `data:` URLs (the 2FA setup's `qrcode`): the `qrcode` crate lays out
//! the modules; this writes them as a small 8-bit greyscale PNG (zlib via `flate2`).

use crate::{Error, Result};
use base64::Engine as _;
use qrcode::{Color, EcLevel, QrCode};
use std::io::Write;

/// Pixels per module.
const SCALE: usize = 4;
/// White modules around the code (the quiet zone the QR standard asks for).
const QUIET: usize = 4;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A PNG of `text` as a QR code.
pub fn png(text: &str) -> Result<Vec<u8>> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut raw = Vec::with_capacity((side + 1) * side);
    for y in 0..side {
        raw.push(0u8); // filter: none
        let my = (y / SCALE).checked_sub(QUIET).filter(|m| *m < modules);
        for x in 0..side {
            let mx = (x / SCALE).checked_sub(QUIET).filter(|m| *m < modules);
            let dark = match (mx, my) {
                (Some(mx), Some(my)) => colors.get(my * modules + mx) == Some(&Color::Dark),
                _ => false,
            };
            raw.push(if dark { 0 } else { 255 });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw)
        .map_err(|e| Error::Internal(format!("PNG: {e}")))?;
    let idat = z
        .finish()
        .map_err(|e| Error::Internal(format!("PNG: {e}")))?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// `data:image/png;base64,...` of `text` as a QR code.
pub fn data_url(text: &str) -> Result<String> {
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png(text)?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png() {
        let p = png("otpauth://totp/x?secret=ABC").unwrap();
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&p[12..16], b"IHDR");
        assert!(p.ends_with(&[0xae, 0x42, 0x60, 0x82])); // CRC of an empty IEND
        assert!(
            data_url("x")
                .unwrap()
                .starts_with("data:image/png;base64,iVBOR")
        );
    }
}
