//! Script paths are relative to the current directory (alone in this test
//! binary: it changes the process's current directory).
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, KEYED_LAYOUT, OwnedEffect};
use drx_capture::Script;

#[test]
fn paths_are_relative_to_the_current_directory() {
    let home = Home::new(
        "[[files]]\nsource_path = \"keyed.dat\"\nextractor_file_id = 7\n\n[[files]]\nsource_path = \"*.dat\"\n",
    );
    home.layout_file(7, KEYED_LAYOUT);
    std::fs::write(home.path("my.layout"), "fields: n fixed bin(31);\nend;\n").unwrap();
    let work = home.path("work");
    std::fs::create_dir(&work).unwrap();
    std::env::set_current_dir(&work).unwrap();
    let text = r#"{"op":"create","file":"../keyed.dat"}
{"op":"write","file":"../keyed.dat","record":{"id":1,"name":"x"}}
{"op":"create","file":"local.dat","layout":"../my.layout"}
{"op":"write","file":"./local.dat","record":{"n":7}}
{"op":"copy","file":"local.dat","to":"../copy.dat"}
"#;
    let mut capture = home.capture("drx_io");
    Script::new(&home.config)
        .run(&mut capture, "ops.jsonl", text.as_bytes())
        .unwrap();
    capture.close().unwrap();
    assert_eq!(std::fs::read(work.join("local.dat")).unwrap(), [0, 0, 0, 7]);
    assert_eq!(std::fs::read(home.path("copy.dat")).unwrap(), [0, 0, 0, 7]);
    let files: Vec<_> = home
        .entries()
        .into_iter()
        .filter(|e| matches!(e.effect, OwnedEffect::Create { .. }))
        .map(|e| e.file)
        .collect();
    assert_eq!(
        files,
        [
            home.jpath("keyed.dat"),
            home.jpath("work/local.dat"),
            home.jpath("copy.dat")
        ]
    );
}
