import { Button } from '@/components/ui';

/** A change that waits for a second, explicit click: what it does, why it may be unwise, confirm or cancel. */
export function ConfirmChange({
  label,
  question,
  warnings,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  label: string;
  question: string;
  warnings: string[];
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <div
      role="group"
      aria-label={label}
      className="space-y-1 rounded border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900"
    >
      <p className="font-medium">{question}</p>
      {warnings.length > 0 && (
        <ul className="list-disc pl-5 text-xs">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <div className="flex gap-2">
        <Button variant="danger" onClick={onConfirm}>
          {confirmLabel}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </div>
  );
}
