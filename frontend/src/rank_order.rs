//! Editing a ranking of CoT candidates as the ranking screen does it: best first, as tie
//! groups of candidate positions. Plain functions, so the browser and the tests share
//! them and the server can reuse the label-order check.

/// A ranking: tie groups of 0-based candidate positions, best group first.
pub type Groups = Vec<Vec<usize>>;

/// The starting order: the candidates as served, one per place.
pub fn initial(candidates: usize) -> Groups {
    (0..candidates).map(|c| vec![c]).collect()
}

/// The index of the group holding `candidate`.
pub fn place_of(groups: &[Vec<usize>], candidate: usize) -> Option<usize> {
    groups.iter().position(|g| g.contains(&candidate))
}

/// Takes `candidate` out of its group, dropping the group when it empties.
fn take(groups: &mut Groups, candidate: usize) -> bool {
    let Some(g) = place_of(groups, candidate) else {
        return false;
    };
    groups[g].retain(|&c| c != candidate);
    if groups[g].is_empty() {
        groups.remove(g);
    }
    true
}

/// Moves `candidate` one place down: out of a tie to just below it, else past the
/// next group.
pub fn move_down(groups: &mut Groups, candidate: usize) {
    let Some(g) = place_of(groups, candidate) else {
        return;
    };
    if groups[g].len() > 1 {
        groups[g].retain(|&c| c != candidate);
        groups.insert(g + 1, vec![candidate]);
    } else if g + 1 < groups.len() {
        groups.swap(g, g + 1);
    }
}

/// Moves `candidate` one place up: out of a tie to just above it, else past the
/// previous group.
pub fn move_up(groups: &mut Groups, candidate: usize) {
    let Some(g) = place_of(groups, candidate) else {
        return;
    };
    if groups[g].len() > 1 {
        groups[g].retain(|&c| c != candidate);
        groups.insert(g, vec![candidate]);
    } else if g > 0 {
        groups.swap(g, g - 1);
    }
}

/// Ties `candidate` with the group above it (nothing happens at the top).
pub fn tie_with_above(groups: &mut Groups, candidate: usize) {
    let Some(g) = place_of(groups, candidate) else {
        return;
    };
    if g == 0 {
        return;
    }
    if take(groups, candidate) {
        groups[g - 1].push(candidate);
    }
}

/// Drops `candidate` on `target` (dragging): it takes the target's place, alone, and
/// the target moves one place toward where the candidate came from.
pub fn move_onto(groups: &mut Groups, candidate: usize, target: usize) {
    if candidate == target {
        return;
    }
    let (Some(from), Some(to)) = (place_of(groups, candidate), place_of(groups, target)) else {
        return;
    };
    let moving_down = from < to;
    if !take(groups, candidate) {
        return;
    }
    let Some(to) = place_of(groups, target) else {
        return;
    };
    // Moving down lands below the target; moving up lands above it.
    groups.insert(if moving_down { to + 1 } else { to }, vec![candidate]);
}

/// Whether the ranking puts a candidate that reached another label than `right` above
/// one that reached `right` (the screen asks the annotator to confirm such an order).
pub fn wrong_label_above_right(
    groups: &[Vec<usize>],
    candidate_labels: &[Option<String>],
    right: &str,
) -> bool {
    let is_right = |c: usize| candidate_labels.get(c).and_then(Option::as_deref) == Some(right);
    let mut wrong_seen = false;
    for group in groups {
        if wrong_seen && group.iter().any(|&c| is_right(c)) {
            return true;
        }
        if group.iter().any(|&c| !is_right(c)) {
            wrong_seen = true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_up_and_down_passes_whole_places_and_leaves_ties() {
        let mut g = initial(3);
        move_up(&mut g, 2);
        move_up(&mut g, 2);
        assert_eq!(g, [vec![2], vec![0], vec![1]]);
        move_up(&mut g, 2);
        assert_eq!(g, [vec![2], vec![0], vec![1]], "the top stays the top");
        tie_with_above(&mut g, 1);
        assert_eq!(g, [vec![2], vec![0, 1]]);
        move_down(&mut g, 0);
        assert_eq!(g, [vec![2], vec![1], vec![0]], "down out of a tie");
        tie_with_above(&mut g, 1);
        assert_eq!(g, [vec![2, 1], vec![0]]);
        move_up(&mut g, 1);
        assert_eq!(g, [vec![1], vec![2], vec![0]], "up out of a tie");
        tie_with_above(&mut g, 1);
        assert_eq!(g, [vec![1], vec![2], vec![0]], "nothing is above the top");
    }

    #[test]
    fn dropping_takes_the_target_place() {
        let mut g = initial(4);
        move_onto(&mut g, 3, 0);
        assert_eq!(g, [vec![3], vec![0], vec![1], vec![2]]);
        move_onto(&mut g, 3, 2);
        assert_eq!(g, [vec![0], vec![1], vec![2], vec![3]]);
        move_onto(&mut g, 0, 1);
        assert_eq!(g, [vec![1], vec![0], vec![2], vec![3]]);
        let mut tied = vec![vec![0, 1], vec![2]];
        move_onto(&mut tied, 2, 1);
        assert_eq!(tied, [vec![2], vec![0, 1]]);
    }

    #[test]
    fn every_edit_keeps_each_candidate_exactly_once() {
        let mut g = initial(5);
        let ops: [fn(&mut Groups, usize); 3] = [move_up, move_down, tie_with_above];
        for step in 0..200usize {
            ops[step % 3](&mut g, (step * 7) % 5);
            if step % 11 == 0 {
                move_onto(&mut g, step % 5, (step / 3) % 5);
            }
            let mut all: Vec<usize> = g.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, [0, 1, 2, 3, 4], "after step {step}: {g:?}");
            assert!(g.iter().all(|group| !group.is_empty()));
        }
    }

    #[test]
    fn a_wrong_label_ranked_above_the_right_one_is_noticed() {
        let labels = [Some("L4".to_owned()), Some("L2".to_owned()), None];
        assert!(!wrong_label_above_right(
            &[vec![1], vec![0], vec![2]],
            &labels,
            "L2"
        ));
        assert!(wrong_label_above_right(
            &[vec![0], vec![1], vec![2]],
            &labels,
            "L2"
        ));
        assert!(!wrong_label_above_right(
            &[vec![0, 1], vec![2]],
            &labels,
            "L2"
        ));
    }
}
