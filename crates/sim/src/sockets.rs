//! What happens to open notification sockets besides events: a connection that goes silent
//! ([`Sim::silence_sockets`]: a NAT, firewall or proxy between client and server dropped its
//! state, so the TCP connection stays open but carries nothing either way) and a server that
//! closes them all ([`Sim::close_sockets`]: a restart).
//!
//! Each socket's task remembers the [`Epochs`] it was opened under and watches them
//! ([`Watch`]); a later silence or close applies to every socket open at that moment, never
//! to the connections made after it (a client that reconnects gets a working socket, as it
//! would through a relay that lost only the old connection).

use tokio::sync::watch;

use crate::Sim;

/// Counters of silences and closes, bumped by [`Sim::silence_sockets`] and
/// [`Sim::close_sockets`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Epochs {
    silenced: u64,
    closed: u64,
}

/// What a socket's task must do after [`Watch::changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Go on serving.
    Serve,
    /// Keep the connection but read and send nothing (no events, no keep-alive replies, no
    /// pongs: pings are answered only while the socket is read).
    Silent,
    /// Close the connection.
    Close,
}

/// One socket's view of the epochs.
pub(crate) struct Watch {
    rx: watch::Receiver<Epochs>,
    born: Epochs,
}

impl Watch {
    /// Waits for the next silence or close; [`Fate::Close`] when the simulator is gone.
    pub(crate) async fn changed(&mut self) -> Fate {
        if self.rx.changed().await.is_err() {
            return Fate::Close;
        }
        let now = *self.rx.borrow_and_update();
        if now.closed != self.born.closed {
            Fate::Close
        } else if now.silenced != self.born.silenced {
            Fate::Silent
        } else {
            Fate::Serve
        }
    }

    /// Holds `socket` open and silent until the server closes it (a later
    /// [`Sim::close_sockets`]) or the simulator stops.
    pub(crate) async fn hold<S>(mut self, socket: S) {
        while self.changed().await != Fate::Close {}
        drop(socket);
    }
}

pub(crate) fn channel() -> watch::Sender<Epochs> {
    watch::channel(Epochs::default()).0
}

impl Sim {
    /// Every notification socket open now (Plex `/:/websockets/notifications`, Jellyfin
    /// `/socket`) stays open but carries nothing from now on: no events, no keep-alive
    /// replies, no pongs — what a client sees when a relay between it and the server dropped
    /// the connection's state. Sockets opened later are served normally.
    pub fn silence_sockets(&self) {
        self.inner.sockets.send_modify(|e| e.silenced += 1);
    }

    /// Every notification socket open now is closed, as a restarting server closes them.
    pub fn close_sockets(&self) {
        self.inner.sockets.send_modify(|e| e.closed += 1);
    }

    /// Forgets play state, history and playlists, as a server restarted with other state
    /// would have: its notification sockets are closed too (`POST /_sim/reset?state=1`).
    pub fn reset_state(&self) {
        self.state().reset();
        self.close_sockets();
    }

    /// A socket task's watch, taken when its connection is accepted.
    pub(crate) fn socket_watch(&self) -> Watch {
        let rx = self.inner.sockets.subscribe();
        let born = *rx.borrow();
        Watch { rx, born }
    }
}
