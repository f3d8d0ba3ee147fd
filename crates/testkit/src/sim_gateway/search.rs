//! Search strings for the tests that diff the gateway's index answers against the
//! simulator's own: random queries made from the library's titles.

use cachearr_sim::Sim;

/// One way of turning a title into a query.
#[derive(Debug, Clone, Copy)]
pub enum QueryForm {
    /// The whole title.
    Whole,
    /// Its first one to five characters.
    Prefix,
    /// Two to five characters from inside it.
    Inner,
    /// The whole title upper-cased.
    Upper,
    /// The whole title lower-cased.
    Lower,
    /// Something no title contains.
    NoMatch,
}

/// `n` queries (fewer: blank ones are dropped) from random titles of `sim`'s library, the
/// i-th in form `forms[i % forms.len()]`; the same `seed` gives the same queries.
pub fn title_queries(sim: &Sim, n: usize, seed: u64, forms: &[QueryForm]) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let lib = sim.library();
    let titles: Vec<String> = (1..=lib.len() as u32)
        .filter_map(|id| lib.item(id).map(|i| i.title().to_string()))
        .collect();
    (0..n)
        .map(|i| {
            let t: Vec<char> = titles[rng.usize(..titles.len())].chars().collect();
            match forms[i % forms.len()] {
                QueryForm::Whole => t.iter().collect::<String>(),
                QueryForm::Prefix => t[..t.len().min(rng.usize(1..6))].iter().collect(),
                QueryForm::Inner => {
                    let a = rng.usize(..t.len());
                    let b = (a + rng.usize(2..6)).min(t.len());
                    t[a..b].iter().collect()
                }
                QueryForm::Upper => t.iter().collect::<String>().to_uppercase(),
                QueryForm::Lower => t.iter().collect::<String>().to_lowercase(),
                QueryForm::NoMatch => format!("zq{}x", rng.u32(..1000)),
            }
        })
        .filter(|q: &String| !q.trim().is_empty())
        .collect()
}

/// `q` encoded for a query string.
pub fn enc(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}
