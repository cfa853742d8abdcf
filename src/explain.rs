//! `explain`: a restore failure as OpenVMM logs it, pointed into the blob that failed. The
//! log is read in [`log`], each failure located in the decoded document in [`locate`].

pub mod locate;
pub mod log;
