/// The version `sprig --version` prints and exports record.
public enum SprigVersion {
    public static let string = "0.13.0"
}
