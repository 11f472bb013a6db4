use super::*;

#[test]
fn thousands_groups_digits() {
    assert_eq!(thousands(10), "10");
    assert_eq!(thousands(2048), "2,048");
    assert_eq!(thousands(1048576), "1,048,576");
}
