//! Work over a gigabyte's records split in two halves, one on each core: the moves an edit
//! settles, the runs it moves, the blocks of places marked again.

/// `work` done on each half of `items` on a core of its own, each half given with its
/// first item's place in `items`; what it gives for the first half and for the second.
pub(super) fn on_both_cores<T: Send, R: Send>(items: &mut [T], work: impl Fn(&mut [T], usize) -> R + Sync) -> (R, R) {
    let middle = items.len() / 2;
    let (first, second) = items.split_at_mut(middle);
    std::thread::scope(|scope| {
        let later = scope.spawn(|| work(second, middle));
        let earlier = work(first, 0);
        (earlier, later.join().expect("work on a half never panics"))
    })
}
