//! The auditor (in progress).
