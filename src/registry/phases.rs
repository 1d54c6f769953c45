//! The two phases of an image's copy in a mirror run, each bounding the
//! images in it on its own:
//! - *sending*: the image's manifest is read, its blobs claimed, and the
//!   blobs it claimed first (or finds free) sent or mounted;
//! - *finishing*: once the blobs other copies were sending are there
//!   (waited for holding no slot), they are mounted and the manifest put.
//!
//! Why: images share blobs (every TripleO image sits on one ~1 GB base
//! layer, the images of a project on one more), and the first copy to
//! claim a blob sends it while the others wait for it. While a waiting
//! image held one of the run's `concurrency` slots, the first images of a
//! list all waited on the one copy sending the base, and the machine sat
//! half idle through that single stream; now a waiting image lets the
//! next image of the list start, whose own blobs go meanwhile. Measured
//! on the TripleO-size bench (100 images, 4.5 GB, 2 cores): the first copy
//! went from 1.34x to 1.18x the time of curl uploading the distinct layers,
//! the machine busy ~1.75 cores through the run instead of ~1.5.
//!
//! Bounds: at most `concurrency` images send and at most `concurrency`
//! finish at once; at most [`in_flight`] images are under way (the rest of
//! the list waits unstarted), a waiting one holding only its manifest (at
//! most 4 MiB, a few KiB in practice).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Images under way per sending slot (see the module header).
const IN_FLIGHT_PER_SLOT: usize = 16;

/// Images under way at most with `concurrency` sending: 16 per slot, but
/// no more than 256 (a TripleO list is 100-200 images) unless the slots
/// alone are more.
pub fn in_flight(concurrency: usize) -> usize {
    let slots = concurrency.max(1);
    slots.saturating_mul(IN_FLIGHT_PER_SLOT).min(256).max(slots)
}

/// The slots of a mirror run's two phases.
#[derive(Clone)]
pub struct Phases {
    sending: Arc<Semaphore>,
    finishing: Arc<Semaphore>,
}

impl Phases {
    /// `concurrency` images in each phase (at least 1; at most what a
    /// semaphore can count).
    pub fn new(concurrency: usize) -> Self {
        let n = concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            sending: Arc::new(Semaphore::new(n)),
            finishing: Arc::new(Semaphore::new(n)),
        }
    }
}

/// Where one image's copy is. A lone copy (no [`Phases`]) is never held.
pub(super) struct ImagePhase {
    phases: Option<Phases>,
    /// The slot held now: sending at first, none while waiting, then finishing.
    slot: tokio::sync::Mutex<Option<OwnedSemaphorePermit>>,
}

impl ImagePhase {
    /// Waits for a sending slot.
    pub(super) async fn sending(phases: Option<&Phases>) -> anyhow::Result<Self> {
        let slot = match phases {
            Some(p) => Some(p.sending.clone().acquire_owned().await?),
            None => None,
        };
        Ok(Self {
            phases: phases.cloned(),
            slot: tokio::sync::Mutex::new(slot),
        })
    }

    /// Gives the slot held up: the copy is about to wait for other copies.
    pub(super) async fn wait(&self) {
        self.slot.lock().await.take();
    }

    /// Takes a finishing slot unless a slot is held (a copy that never
    /// waited finishes in its sending slot).
    pub(super) async fn resume(&self) -> anyhow::Result<()> {
        let mut slot = self.slot.lock().await;
        if slot.is_none()
            && let Some(p) = &self.phases
        {
            *slot = Some(p.finishing.clone().acquire_owned().await?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_image_lets_the_next_one_send_and_finishing_is_bounded_apart() {
        let phases = Phases::new(1);
        let first = ImagePhase::sending(Some(&phases)).await.unwrap();
        // The one sending slot is taken.
        assert_eq!(phases.sending.available_permits(), 0);
        first.wait().await;
        let second = ImagePhase::sending(Some(&phases)).await.unwrap();
        first.resume().await.unwrap();
        assert_eq!(phases.finishing.available_permits(), 0);
        // A second finisher waits for the first's slot.
        second.wait().await;
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(50), second.resume());
        assert!(
            blocked.await.is_err(),
            "two images finished at once with one slot"
        );
        drop(first);
        second.resume().await.unwrap();
        assert_eq!(phases.sending.available_permits(), 1);
    }

    #[test]
    fn images_under_way_are_bounded() {
        assert_eq!(in_flight(0), 16);
        assert_eq!(in_flight(4), 64);
        assert_eq!(in_flight(100), 256);
        assert_eq!(in_flight(1000), 1000);
        assert_eq!(in_flight(usize::MAX), usize::MAX);
    }

    #[tokio::test]
    async fn a_lone_copy_is_never_held() {
        let lone = ImagePhase::sending(None).await.unwrap();
        lone.wait().await;
        lone.resume().await.unwrap();
        assert!(lone.slot.lock().await.is_none());
    }
}
