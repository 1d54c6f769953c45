//! Lab bring-up speed: `Lab::up` on a fresh dir and again on the same dir
//! (reattach, nothing reseeded), and the seeding itself (layers composed in
//! Rust and pushed over the distribution API) against its peer, the engine
//! builds + pushes of `apex_lab::images::populate`, for the same services
//! into fresh registries. Run: `cargo bench --bench lab` (the work is I/O
//! and external processes, so `--profile dev` gives the same picture).

use std::time::Instant;

use apex::engine;
use apex_lab::images::{self, ServiceImage};
use apex_lab::registry::LabRegistry;
use apex_lab::{Lab, LabOptions, docker, seed};

const SERVICES: &[&str] = &[
    "opendaylight",
    "neutron-server",
    "neutron-server-opendaylight",
    "neutron-server-ovn",
    "ovn-controller",
    "ovn-northd",
    "ovn-nb-db-server",
    "ovn-sb-db-server",
    "neutron-metadata-agent-ovn",
    "nova-api",
    "nova-conductor",
    "nova-compute",
    "keystone",
    "glance-api",
    "mariadb",
    "rabbitmq",
    "haproxy",
    "memcached",
];

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("apex-lab-bench-")
        .tempdir()?;
    let t = Instant::now();
    let lab = Lab::up(LabOptions {
        dir: dir.path().to_path_buf(),
    })
    .await?;
    let first = secs(t);
    let seeded = lab.seeded().images.len();
    drop(lab);
    let t = Instant::now();
    let lab = Lab::up(LabOptions {
        dir: dir.path().to_path_buf(),
    })
    .await?;
    let rerun = secs(t);
    assert_eq!(lab.seeded().pushed, 0, "a rerun reseeded images");
    lab.down().await?;
    println!("lab up, fresh dir ({seeded} images seeded): {first:.2} s");
    println!(
        "lab up, same dir (reattach):            {rerun:.2} s  ({:.1}% of fresh)",
        100.0 * rerun / first
    );

    let chosen: Vec<seed::SeedImage> = seed::lab_images()
        .into_iter()
        .filter(|i| SERVICES.contains(&i.service.as_str()))
        .collect();
    let reg = LabRegistry::start("bench-seed").await?;
    let t = Instant::now();
    seed::seed_images(&reg.host(), &chosen).await?;
    let pushed = secs(t);

    let engine = docker::ensure_engine().await?;
    let docker = engine::connect(&engine.settings()).await?;
    let peer_reg = LabRegistry::start("bench-populate").await?;
    let services: Vec<ServiceImage> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, s)| ServiceImage::small(s, 42000 + i as u32))
        .collect();
    images::base_image(&docker).await?; // the peer's base import is not counted
    let t = Instant::now();
    let refs = images::populate(&docker, &peer_reg.host(), 0, &services).await?;
    let built = secs(t);
    for svc in &services {
        let _ = engine::remove_image(
            &docker,
            &format!("apexlab/centos-binary-{}:{}", svc.service, images::TAG),
            true,
        )
        .await;
    }
    println!(
        "seed {} images, composed + pushed:       {pushed:.2} s",
        chosen.len()
    );
    println!(
        "seed {} images, engine build + push (peer): {built:.2} s",
        refs.len()
    );
    println!(
        "ratio peer / composed:                  {:.1}x",
        built / pushed
    );
    Ok(())
}
