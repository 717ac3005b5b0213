//! The page's inline stylesheet and script, kept in `report.css` and `report.js` beside
//! this file and included at build time: the page has no external assets, so the report
//! opens from disk, offline, years later.
//!
//! The script renders the history view from the columns of `history_data.rs`: it decodes
//! the base64 text once, decompresses the filter columns with the browser's own
//! `DecompressionStream("gzip")`, filters them (process, key, type, outcome, time) into a
//! list of row positions without building an object per row, and draws one page of rows
//! at a time, decompressing only the detail chunks that page shows; so a million-operation
//! history is neither a million objects nor a million DOM rows. The same pager (`Pager`,
//! the only one) draws each anomaly type's findings a page at a time from the
//! `findings-data` JSON (`anomaly_section.rs`). Witness links (`#op-N`, N a history line
//! index) jump to the page holding that operation. When the first pages are drawn without
//! error it writes `ok` into `#js-status` and sets `data-report-ready` on the body; after
//! every drawing the history table's, or the `.finding-list`'s, `data-shown` says
//! `page/pages/rows` (the browser tests read these).

/// The stylesheet (`report.css`).
pub const CSS: &str = include_str!("report.css");

/// The script (`report.js`; no external library).
pub const JS: &str = include_str!("report.js");
