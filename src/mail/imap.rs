//! (IMAP watcher: next)
