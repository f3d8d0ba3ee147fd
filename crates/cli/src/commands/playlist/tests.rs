use super::*;

fn entries(items: &[&str]) -> Vec<Entry> {
    items
        .iter()
        .enumerate()
        .map(|(n, item)| Entry {
            entry: format!("e{n}"),
            item: (*item).to_string(),
        })
        .collect()
}

fn wanted(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// Applies moves (`after = None`: to the top) the way the server does.
fn apply(mut current: Vec<Entry>, moves: &[(String, Option<String>)]) -> Vec<Entry> {
    for (entry, after) in moves {
        let at = current.iter().position(|e| &e.entry == entry).unwrap();
        let moved = current.remove(at);
        let to = match after {
            None => 0,
            Some(a) => current.iter().position(|e| &e.entry == a).unwrap() + 1,
        };
        current.insert(to, moved);
    }
    current
}

#[test]
fn in_sync_needs_nothing() {
    let p = plan(&entries(&["a", "b", "c"]), &wanted(&["a", "b", "c"]));
    assert_eq!(p, Plan::default());
}

#[test]
fn removes_extras_and_appends_missing_keeping_duplicates() {
    let p = plan(
        &entries(&["a", "x", "b", "b"]),
        &wanted(&["a", "b", "c", "b", "c"]),
    );
    assert_eq!(p.remove, vec!["e1".to_string()]);
    assert_eq!(p.add, wanted(&["c", "c"]));
    // a b b c c vs a b c b c: one move.
    assert_eq!(p.moves, 1);
}

#[test]
fn fewest_moves_put_the_file_order_back() {
    let current = entries(&["c", "a", "b", "e", "d"]);
    let want = wanted(&["a", "b", "c", "d", "e"]);
    let p = plan(&current, &want);
    assert_eq!(p.moves, 2, "a b e (or a b d) stay, two move");
    let done = apply(current.clone(), &moves(&current, &want));
    let order: Vec<&str> = done.iter().map(|e| e.item.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "d", "e"]);
    assert_eq!(moves(&current, &want).len(), 2);
    // Reversed: all but one move, the first to the top.
    let current = entries(&["e", "d", "c", "b", "a"]);
    let m = moves(&current, &want);
    assert_eq!(m.len(), 4);
    let done = apply(current, &m);
    let order: Vec<&str> = done.iter().map(|e| e.item.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "d", "e"]);
}

#[test]
fn replace_wins_when_the_edit_costs_more() {
    let current = entries(&["x", "y", "z", "a"]);
    let want = wanted(&["a", "b"]);
    let p = plan(&current, &want);
    assert_eq!((p.remove.len(), p.add.len(), p.moves), (3, 1, 0));
    // Plex: 3 deletes + 1 add = 4 > clear + add = 2.
    assert_eq!(costs(Kind::Plex, &current, &want, &p), (4, 2));
    // Jellyfin: delete + add = 2 > one replacement.
    assert_eq!(costs(Kind::Jellyfin, &current, &want, &p), (2, 1));
    // Appending alone is one write either way; the edit keeps the entries.
    let p = plan(&entries(&["a"]), &want);
    assert_eq!(costs(Kind::Jellyfin, &entries(&["a"]), &want, &p), (1, 1));
    assert_eq!(costs(Kind::Plex, &entries(&["a"]), &want, &p), (1, 2));
}

#[test]
fn longest_increasing_subsequence() {
    assert_eq!(longest_increasing(&[]), Vec::<usize>::new());
    let v = [3, 1, 2, 5, 4, 6];
    let lis = longest_increasing(&v);
    assert_eq!(lis.len(), 4);
    assert!(lis.windows(2).all(|w| w[0] < w[1] && v[w[0]] < v[w[1]]));
}

#[test]
fn query_strings_are_encoded() {
    assert_eq!(
        query(&[("title", "Rock & Roll"), ("uri", "server://m/x/1,2")]),
        "title=Rock%20%26%20Roll&uri=server%3A%2F%2Fm%2Fx%2F1%2C2"
    );
}
