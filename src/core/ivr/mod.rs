//! IVR (IVR语音导航), sans-IO: the flow model and its validation (`flow`), the interpreter for one
//! call (`run`), which flow answers when plus working hours (`schedule`) and the basic settings
//! consumed by the ACD (`settings`). SPEC §3; seed 001 "IVR语音导航设置".

pub mod flow;
pub mod run;
pub mod schedule;
pub mod settings;

pub use flow::{Flow, FlowError, Node, NodeId, NodeKind, PromptId, Target};
pub use run::{CallContext, HangupReason, IvrAction, IvrEvent, IvrRun, PlayId};
pub use schedule::{
    DailyRule, DayTime, IvrSchedule, LocalTime, ScheduleError, SpecialRule, TimeWindow, WeekdaySet,
};
pub use settings::IvrSettings;
