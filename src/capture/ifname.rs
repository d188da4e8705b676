//! Interface names by index, as `tcpdump -i any` prints them (looked up
//! when the packet is shown, in this network namespace, with `?` for an
//! index that names nothing here, as tcpdump does). Each index is looked
//! up once per thread.

use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static NAMES: RefCell<HashMap<u32, Option<String>>> = RefCell::new(HashMap::new());
}

fn lookup(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes, what if_indextoname writes at most
    // (NUL included); it returns NULL or a pointer into buf.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// Call `f` with the name of interface `index` (`?` when there is none).
pub fn with_name<R>(index: u32, f: impl FnOnce(&str) -> R) -> R {
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        let name = n.entry(index).or_insert_with(|| lookup(index));
        f(name.as_deref().unwrap_or("?"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_a_name_and_nonsense_has_none() {
        if let Some(lo) = crate::capture::sys::if_index("lo") {
            assert_eq!(with_name(lo, str::to_string), "lo");
        }
        assert_eq!(with_name(0, str::to_string), "?");
        assert_eq!(with_name(u32::MAX - 7, str::to_string), "?");
    }
}
