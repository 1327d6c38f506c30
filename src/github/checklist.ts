/**
 * The body of the tracking comment: a title, a checklist of steps that fills in as the task goes on,
 * and the outcome (links, test results, or the reason it failed in plain words).
 */
export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

interface Step {
  key: string;
  label: string;
  state: StepState;
  note?: string | undefined;
}

export class Checklist {
  private readonly steps: Step[];
  private readonly outcome: string[] = [];

  constructor(
    private readonly title: string,
    steps: { key: string; label: string }[],
  ) {
    this.steps = steps.map((step) => ({ ...step, state: 'pending' }));
  }

  private step(key: string): Step {
    const step = this.steps.find((s) => s.key === key);
    if (!step) throw new Error(`no checklist step ${key}`);
    return step;
  }

  set(key: string, state: StepState, note?: string): this {
    const step = this.step(key);
    step.state = state;
    step.note = note;
    return this;
  }

  /** Replaces a step's wording (e.g. once the branch name is known). */
  relabel(key: string, label: string): this {
    this.step(key).label = label;
    return this;
  }

  /** The step being worked on, if any (a failure is reported against it). */
  get running(): string | undefined {
    return this.steps.find((s) => s.state === 'running')?.key;
  }

  /** Marks every step not yet started as skipped. */
  skipRest(note?: string): this {
    for (const step of this.steps) {
      if (step.state === 'pending') {
        step.state = 'skipped';
        step.note = note;
      }
    }
    return this;
  }

  addOutcome(text: string): this {
    this.outcome.push(text);
    return this;
  }

  render(): string {
    const lines = this.steps.map((step) => {
      const note = step.note ? `: ${step.note}` : '';
      switch (step.state) {
        case 'done':
          return `- [x] ${step.label}${note}`;
        case 'running':
          return `- [ ] ${step.label} ⏳`;
        case 'failed':
          return `- [ ] ❌ ${step.label}${note}`;
        case 'skipped':
          return `- [ ] ~~${step.label}~~${note}`;
        default:
          return `- [ ] ${step.label}`;
      }
    });
    return [this.title, '', ...lines, ...(this.outcome.length ? ['', ...this.outcome] : [])].join('\n');
  }
}
