//! A short deterministic round of the parser fuzzer (`examples/fuzz`): a few thousand
//! mutants of the corpus under every limit set must parse without a panic and keep the
//! invariants. The long randomised runs are done with the example.

#[path = "../examples/fuzz/engine.rs"]
#[allow(dead_code)]
mod engine;

#[test]
fn parser_survives_mutated_commands() {
    for seed in [1, 2] {
        let report = engine::run(seed, Some(2_000), None);
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|(input, reason)| format!("{reason}: {:?}", String::from_utf8_lossy(input)))
            .collect();
        assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
        // The corpus itself parses: every command family is reached.
        assert!(
            report
                .outcomes
                .keys()
                .filter(|k| k.starts_with("ok "))
                .count()
                > 30
        );
    }
}

#[test]
fn every_corpus_command_is_valid() {
    let limits = sealpost_imap_proto::Limits::default();
    for input in engine::CORPUS {
        let parsed = sealpost_imap_proto::parse_command(input, &limits);
        assert!(
            matches!(&parsed, Ok((_, used)) if *used == input.len()),
            "{:?}: {parsed:?}",
            String::from_utf8_lossy(input)
        );
    }
}
