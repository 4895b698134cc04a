//! The test PKI itself: chains verify with OpenSSL and convert to the crate's types.
mod common;

use common::pki::pki;
use openssl::stack::Stack;
use openssl::x509::X509StoreContext;
use openssl::x509::store::X509StoreBuilder;

#[test]
fn standard_chain_verifies_with_openssl() {
    let p = pki();
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(p.root.cert.clone()).unwrap();
    let store = store.build();
    let mut chain = Stack::new().unwrap();
    chain.push(p.intermediate.cert.clone()).unwrap();
    let mut ctx = X509StoreContext::new().unwrap();
    let ok = ctx
        .init(&store, &p.leaf.cert, &chain, |c| c.verify_cert())
        .unwrap();
    assert!(ok);
    assert!(!p.leaf.certificate().is_null());
    assert!(!p.leaf.ssl_key().is_null());
}
